# make setup | build | run | test | bench | image | clean
.PHONY: setup build run test test-unit bench image clean

EXAMPLE ?= execsnoop

# Idempotent: installs only what is missing (apt packages, npm ci, tracefs).
setup:
	bash scripts/setup.sh

# Folders too: removing or renaming a source changes its folder's time, and dist/ is rebuilt.
dist/.built: $(wildcard bench/*.ts) $(shell find src test bench/lib -mindepth 1 -name '*.ts' -o -mindepth 1 -type d) tsconfig.json package.json package-lock.json schemas/package.schema.json scripts/build.mjs scripts/bundle.mjs scripts/gen-validators.mjs
	npm run --silent build
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

# An OCI image of ecli (localhost/ecli-ts:<version>), built offline from this machine's packages
# and this repository (scripts/image.sh); deploy/ runs it on every node of a cluster.
image: setup build
	bash scripts/image.sh

clean:
	rm -rf dist examples/*/package.json examples/*/*.skel.json examples/*/*.bpf.o
