# Varde — the two commands a newcomer needs are `make demo` and `make test`; both set themselves up.
SHELL := /bin/bash
NODE := node --import tsx

.PHONY: setup build demo test typecheck unit bench fuzz soak deb clean

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
	@FUZZ_RUNS=200000 FRAMING_RUNS=30000 CODEC_RUNS=5000 FW_PROPERTY_RUNS=3000 npx vitest run protocol firmware/core

# Long runs of the same tests `make test` runs short: 30 simulated days of the alarm button with power
# cuts, 48 h of BLE with link losses, gateway SIGKILL rounds, a 200-device fleet through broker restarts.
soak: build
	@SOAK_DAYS=30 BLE_SOAK_HOURS=48 BLE_CHAOS_ROUNDS=8 CHAOS_ROUNDS=20 CHAOS_DEVICES=200 CHAOS_EVENTS=200 \
	  npx vitest run firmware/alarm/alarm.soak.test.ts test/transports test/chaos test/scenarios

bench: build
	@$(NODE) test/bench/run.ts

# The Debian package municipal IT installs: /opt/varde, /usr/bin/varde, /etc/varde/gateway.toml and the
# varde-gateway systemd unit (scripts/build-deb.sh). Then: sudo apt install ./dist/varde_<version>_<arch>.deb
deb: setup
	@scripts/build-deb.sh dist

clean:
	rm -rf dist .varde
