# make setup | build | run | test | bench | clean
.PHONY: setup build run test test-unit bench clean

EXAMPLE ?= execsnoop

# Idempotent: installs only what is missing (apt packages, npm ci, tracefs).
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

test: setup build
	node scripts/run-tests.mjs

test-unit: setup build
	node scripts/run-tests.mjs unit

bench:
	ECLI_SETUP_BENCH=1 bash scripts/setup.sh
	$(MAKE) build
	node dist/bench/run.js

clean:
	rm -rf dist examples/*/package.json examples/*/*.skel.json examples/*/*.bpf.o
