#!/usr/bin/env bash
# Builds the Debian package municipal IT installs: dist/varde_<version>_<arch>.deb (`make deb`).
#   sudo apt install ./dist/varde_0.1.0_amd64.deb      # or: sudo dpkg -i ... (then apt-get -f install)
# It holds:
#   /opt/varde                      the application (the repository without its tests) and its production
#                                   node_modules, built for this machine's Node and architecture
#   /usr/bin/varde                  the varde command
#   /etc/varde/gateway.toml         the configuration (a conffile: upgrades keep your edits)
#   /lib/systemd/system/varde-gateway.service
#   /usr/share/bash-completion/completions/varde
# and the maintainer scripts in deploy/debian/: a system user `varde` (dialout), /var/lib/varde,
# /etc/varde/registry.toml, the service enabled (started once you have edited the configuration).
# Usage: scripts/build-deb.sh [OUT_DIR]   (DEB_COMPRESSION=xz|gzip|none, default xz;
#        DEB_MAINTAINER="Name <address>" for the control file)
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(realpath -m "${1:-dist}")
version=$(node -p 'require("./package.json").version')
arch=$(dpkg --print-architecture)
node_major=$(node -p 'process.versions.node.split(".")[0]')
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
root="$stage/varde_${version}_${arch}"
app="$root/opt/varde"
mkdir -p "$app" "$out"

step() { echo "build-deb: $*"; }

step "application files (the repository without tests) -> /opt/varde"
# tracked files and new ones not ignored, so a working tree builds what it holds
git ls-files -z --cached --others --exclude-standard \
  | grep -zv -E '(^|/)test/|\.test\.ts$|^\.ci/|^\.varde/|^dist/' \
  | while IFS= read -r -d '' f; do [ -f "$f" ] && printf '%s\0' "$f"; done \
  | xargs -0 cp --parents -t "$app"

step "the compiled gateway the service runs -> /opt/varde/dist/gateway"
node --import tsx -e 'const m = await import("./cli/gateway/build-service.ts"); await m.buildGateway(process.argv[1] + "/dist/gateway/varde-gateway.mjs")' "$app"

step "production node_modules (npm ls --omit=dev) -> /opt/varde/node_modules"
# each package's own files (its nested node_modules are listed as packages of their own), in one tar
npm ls --omit=dev --parseable --all 2>/dev/null | tail -n +2 | while read -r p; do
  rel=${p#"$PWD/"}
  find "$rel" -path "$rel/node_modules" -prune -o \( -type f -o -type l \) -print
done > "$stage/modules.list"
tar -cf - -T "$stage/modules.list" | tar -xf - -C "$app"
# build intermediates of native modules are not needed at run time
find "$app/node_modules" \( -path '*/better-sqlite3/deps' -o -path '*/better-sqlite3/src' -o -name obj.target -o -name .deps \) -prune -exec rm -rf {} +
rm -rf "$app/node_modules/.bin"

step "command, configuration, service, completion"
mkdir -p "$root/usr/bin" "$root/usr/share/doc/varde"
cat > "$root/usr/bin/varde" <<'SH'
#!/bin/sh
# the varde command (Debian package): the application lives in /opt/varde
exec node /opt/varde/bin/varde.js "$@"
SH
chmod 0755 "$root/usr/bin/varde"
install -D -m 0644 deploy/gateway.toml "$root/etc/varde/gateway.toml"
install -D -m 0644 deploy/varde-gateway.service "$root/lib/systemd/system/varde-gateway.service"
install -d "$root/usr/share/bash-completion/completions"
node bin/varde.js completion bash > "$root/usr/share/bash-completion/completions/varde"
cat > "$root/usr/share/doc/varde/copyright" <<TXT
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: varde
Source: /opt/varde (README.md)

Files: *
Copyright: the Varde contributors
License: Apache-2.0
 On Debian systems the full text is in /usr/share/common-licenses/Apache-2.0 and /opt/varde/LICENSE.
 The bundled node_modules carry their own licences in their folders under /opt/varde/node_modules.
TXT

step "control files"
mkdir -p "$root/DEBIAN"
for s in postinst prerm postrm; do install -m 0755 "deploy/debian/$s" "$root/DEBIAN/$s"; done
echo /etc/varde/gateway.toml > "$root/DEBIAN/conffiles"
size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
cat > "$root/DEBIAN/control" <<CTRL
Package: varde
Version: $version
Architecture: $arch
Maintainer: ${DEB_MAINTAINER:-Varde project <varde@localhost>}
Installed-Size: $size
Depends: nodejs (>= ${node_major}), adduser
Recommends: mosquitto, udev
Section: misc
Priority: optional
Description: Varde home gateway and technician tools for welfare-technology devices
 Relays events from a medication dispenser and a personal alarm button (serial, BLE, TCP) to the
 municipality's backend over MQTT, durably: nothing acknowledged is lost to a power cut or a broker
 outage. Includes the varde command for technicians (provision, flash, probe) and the systemd service
 varde-gateway. Native modules are built for Node.js ${node_major} on ${arch}.
CTRL

deb="$out/varde_${version}_${arch}.deb"
step "dpkg-deb -> $deb"
dpkg-deb --root-owner-group -Z"${DEB_COMPRESSION:-xz}" --build "$root" "$deb" >/dev/null
echo "$deb"
