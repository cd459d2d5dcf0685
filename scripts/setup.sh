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
# progress for the slow steps: elapsed time (and what is done, when `count` says) every 10 s, on one
# updating line on a terminal, as separate lines in a log
progress() { # progress <label> <total> <command that prints how many are done>
  local label=$1 total=$2 count=$3 start=$SECONDS
  while sleep 10; do
    local done_; done_=$(eval "$count" 2>/dev/null || echo "?")
    local msg; msg="setup: $label: $((SECONDS - start)) s${total:+, about $done_ of $total packages}"
    if [ -t 1 ]; then printf '\r%s   ' "$msg"; else echo "$msg"; fi
  done
}
quietly() { "$@" >/dev/null; }
installed_packages() { # top-level packages in node_modules so far (scoped ones one level deeper)
  echo $(( $(find node_modules -mindepth 2 -maxdepth 2 -name package.json 2>/dev/null | wc -l) + $(find node_modules -mindepth 3 -maxdepth 3 -path 'node_modules/@*/*/package.json' 2>/dev/null | wc -l) ))
}
run_with_progress() { # run_with_progress <label> <total> <count command> -- command...
  local label=$1 total=$2 count=$3; shift 4
  progress "$label" "$total" "$count" & local ticker=$!
  local rc=0; "$@" || rc=$?
  kill "$ticker" 2>/dev/null; wait "$ticker" 2>/dev/null || true
  [ -t 1 ] && printf '\n'
  return $rc
}

if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${need[*]} (a few minutes the first time)"
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  echo "setup: [1/2] apt-get update"
  $sudo apt-get update -qq
  echo "setup: [2/2] apt-get install ${need[*]}"
  run_with_progress "apt-get install" "" true -- quietly $sudo apt-get install -y -qq "${need[@]}"
fi

node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
  echo "setup: Node.js >= 20 is required (found $(node --version 2>/dev/null || echo none)). Install Node 20 and rerun." >&2
  exit 1
fi

# npm ci only when node_modules is missing or older than the lock file.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  total=$(node -p 'Object.keys(require("./package-lock.json").packages).filter((p) => /^node_modules\/(@[^/]+\/)?[^/@]+$/.test(p)).length')
  echo "setup: npm ci: $total packages from package-lock.json into node_modules (a few minutes the first time; native modules are compiled)"
  run_with_progress "npm ci" "$total" installed_packages -- \
    npm ci --no-audit --no-fund --loglevel=error
  echo "setup: npm ci done"
else
  echo "setup: node_modules is up to date with package-lock.json"
fi
