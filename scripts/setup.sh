#!/usr/bin/env bash
# One-time set-up on a fresh Debian machine with Node 20: Debian packages the tests and the demo use, then the
# npm packages from package-lock.json. Safe to run again: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
[ -x /usr/sbin/mosquitto ] || command -v mosquitto >/dev/null 2>&1 || need+=(mosquitto)   # reference broker in tests
command -v socat >/dev/null 2>&1 || need+=(socat)            # pseudo-terminal pairs for the serial path
command -v udevadm >/dev/null 2>&1 || need+=(udev)           # SerialPort.list() reads udev
command -v openssl >/dev/null 2>&1 || need+=(openssl)        # test CA and client certificates for the TLS tests
command -v qemu-i386 >/dev/null 2>&1 || need+=(qemu-user)    # runs the real Espruino interpreters (i386 builds) on x86-64
command -v chromium >/dev/null 2>&1 || need+=(chromium)      # browser tests of the console (playwright-core drives it)
ls /usr/lib/*/faketime/libfaketime.so.1 >/dev/null 2>&1 || need+=(libfaketime) # steps a gateway process's wall clock (NTP-step tests)
[ -x /usr/lib/postgresql/15/bin/postgres ] || ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || need+=(postgresql) # the backend's shared store
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${need[*]}"
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi

node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
  echo "setup: Node.js >= 20 is required (found $(node --version 2>/dev/null || echo none)). Install Node 20 and rerun." >&2
  exit 1
fi

# npm ci only when node_modules is missing or older than the lock file.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi
