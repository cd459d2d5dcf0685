# Varde — the two commands a newcomer needs are `make demo` and `make test`; both set themselves up.
SHELL := /bin/bash
NODE := node --import tsx

.PHONY: setup build demo test typecheck unit bench fuzz soak clean

setup:
	@scripts/setup.sh

build: setup
	@$(NODE) firmware/build/build.ts

# Demo: embedded MQTT broker, the gateway and a simulated alarm button on a pseudo-terminal, in real time.
demo: build
	@node bin/varde.js demo

# Everything the CI runs: type check, firmware build (with its Espruino check), all tests.
test: build
	@$(MAKE) --no-print-directory typecheck
	@npx vitest run

typecheck:
	@npx tsc -p tsconfig.json --noEmit

# Long runs, kept out of `make test` (which runs short variants of the same code).
fuzz: build
	@FUZZ_RUNS=200000 npx vitest run protocol

soak: build
	@SOAK=1 npx vitest run test/chaos test/scenarios

bench: build
	@$(NODE) test/bench/run.ts

clean:
	rm -rf dist .varde
