# make setup | build | run | test | bench | clean
.PHONY: setup build run test test-unit bench clean

EXAMPLE ?= execsnoop

setup:
	bash scripts/setup.sh

dist/.built: $(shell find src test bench -name '*.ts' 2>/dev/null) tsconfig.json package.json schemas/package.schema.json
	node scripts/gen-validators.mjs
	npx tsc -p tsconfig.json
	@touch $@

build: dist/.built

run: setup build
	./ecc examples/$(EXAMPLE)/$(EXAMPLE).bpf.c $(wildcard examples/$(EXAMPLE)/$(EXAMPLE).h)
	./ecli run examples/$(EXAMPLE)/package.json

test: build
	node scripts/run-tests.mjs

test-unit: build
	node scripts/run-tests.mjs unit

bench: build
	ECLI_SETUP_BENCH=1 bash scripts/setup.sh
	node dist/bench/run.js

clean:
	rm -rf dist examples/*/package.json examples/*/*.skel.json examples/*/*.bpf.o
