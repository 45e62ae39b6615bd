#!/usr/bin/env bash
# Puts the XDR protocol files of the one libvirt version Virtdesk's client is generated from
# (Debian 12's libvirt 9.0.0) into the project's cache, from Debian's source package:
#
#   scripts/libvirt-protocol/fetch.sh   -> prints the folder holding the .x files
#
# Output: ${VIRTDESK_LIBVIRT_PROTOCOL_CACHE:-<repo>/.cache/libvirt-protocol}/9.0.0/
#   remote_protocol.x, virnetprotocol.x, virkeepaliveprotocol.x
# The .x files are never committed: only the generator and what it generates are.
# A private apt configuration (its own deb-src line and lists folder) leaves the
# machine's apt set-up untouched.
set -euo pipefail

VERSION=9.0.0
DEBIAN_VERSION=9.0.0-4+deb12u2
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CACHE="${VIRTDESK_LIBVIRT_PROTOCOL_CACHE:-$REPO_ROOT/.cache/libvirt-protocol}"
OUT="$CACHE/$VERSION"
FILES=(src/remote/remote_protocol.x src/rpc/virnetprotocol.x src/rpc/virkeepaliveprotocol.x)

if [[ -f "$OUT/remote_protocol.x" && -f "$OUT/virnetprotocol.x" && -f "$OUT/virkeepaliveprotocol.x" ]]; then
  echo "$OUT"
  exit 0
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/lists/partial" "$work/download"
echo "deb-src http://deb.debian.org/debian bookworm main" >"$work/sources.list"
apt_options=(
  -o "Dir::Etc::sourcelist=$work/sources.list" -o "Dir::Etc::sourceparts=-"
  -o "Dir::State::Lists=$work/lists" -o "APT::Get::List-Cleanup=0" -o "APT::Sandbox::User=root"
)
apt-get "${apt_options[@]}" -qq update >&2
(cd "$work/download" && apt-get "${apt_options[@]}" -qq source --download-only "libvirt=$DEBIAN_VERSION" >&2 2>/dev/null) || {
  echo "fetch.sh: could not download Debian's libvirt $DEBIAN_VERSION source package (needs deb.debian.org)." >&2
  exit 1
}
tar -xJf "$work/download/libvirt_$VERSION.orig.tar.xz" -C "$work" "${FILES[@]/#/libvirt-$VERSION/}"
mkdir -p "$OUT.tmp"
for file in "${FILES[@]}"; do cp "$work/libvirt-$VERSION/$file" "$OUT.tmp/"; done
rm -rf "$OUT" && mv "$OUT.tmp" "$OUT"
echo "$OUT"
