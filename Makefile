# Varde — the two commands a newcomer needs are `make demo` and `make test`; both set themselves up.
SHELL := /bin/bash
NODE := node --import tsx

.PHONY: espruino-memory setup build demo test typecheck unit bench fuzz soak clean fhir-example fhir-example-record console-latency console-screenshots backend deb

setup:
	@scripts/setup.sh

build: setup
	@$(NODE) firmware/build/build.ts
	@$(NODE) cli/gateway/build-service.ts

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
	@FUZZ_RUNS=200000 FRAMING_RUNS=30000 CODEC_RUNS=5000 FW_PROPERTY_RUNS=3000 npx vitest run protocol firmware/core

# Long runs of the same tests `make test` runs short: 30 simulated days of the alarm button with power
# cuts, 48 h of BLE with link losses, gateway SIGKILL rounds, a 200-device fleet through broker restarts.
soak: build
	@SOAK_DAYS=30 BLE_SOAK_HOURS=48 BLE_CHAOS_ROUNDS=8 CHAOS_ROUNDS=20 CHAOS_DEVICES=200 CHAOS_EVENTS=200 \
	  npx vitest run firmware/alarm/alarm.soak.test.ts test/transports test/chaos test/scenarios

# FHIR R4 export of the demo's devices (docs/fhir-export.md): one JSON file per message Bundle or DetectedIssue
# in OUT, from the recorded event stream backend/fhir/example/events.jsonl. fhir-example-record records that
# stream again (real firmware in the simulator through the real gateway, about a minute).
OUT ?= docs/examples/fhir/
fhir-example: setup
	@$(NODE) backend/fhir/example/example.ts $(OUT)

fhir-example-record: build
	@$(NODE) backend/fhir/example/record.ts

# The firmware's JsVars on the real interpreters: after boot, and the alarm's worst moment found by ballast.
espruino-memory: build
	@$(NODE) test/espruino/memory-report.ts

bench: build
	@$(NODE) test/bench/run.ts

# The console: alarm visible after the press, p50/p99, one backend instance and two sharing the load.
console-latency: setup
	@$(NODE) test/bench/console-latency.ts

# The console's screenshots in docs/console/ (the browser test, writing them there).
console-screenshots: build
	@UPDATE_SCREENSHOTS=1 npx vitest run test/browser/console.test.ts

# The reference backend and its console with the example config (needs a broker at [mqtt] url).
backend: setup
	@node bin/varde.js backend --config backend/backend.example.toml

# The Debian package municipal IT installs: /opt/varde, /usr/bin/varde, /etc/varde/gateway.toml and the
# varde-gateway systemd unit (scripts/build-deb.sh). Then: sudo apt install ./dist/varde_<version>_<arch>.deb
deb: setup
	@scripts/build-deb.sh dist

clean:
	rm -rf dist .varde
