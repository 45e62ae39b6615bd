#!/usr/bin/env bash
# Installs the Debian packages Virtdesk's tests need, only those missing. Quick when all are present.
set -euo pipefail

packages=(
  qemu-system-x86   # the hypervisor the engine drives
  qemu-utils        # qemu-img, qemu-io
  ovmf              # UEFI firmware and its descriptors
  chromium          # the e2e browser (never downloaded by Playwright)
  xvfb              # a display for anything that needs one
  grub-pc-bin grub-common xorriso mtools  # the test guest's bootable ISO
  busybox-static cpio                     # the test guest's userland
  osinfo-db         # OS detection data
  dnsmasq-base nftables iproute2          # virtual networks
  socat             # poking at unix sockets in tests
  xz-utils zstd     # kernel modules come compressed
  libvirt-daemon-system libvirt-clients   # libvirt connections: a real libvirtd, virsh to compare with
  openssh-server    # the fake remote libvirt hosts' sshd
  netcat-openbsd    # nc: the ssh fallback for libvirt hosts without virt-ssh-helper
  libxml2-utils     # virt-xml-validate checks domain XML
  openssl           # a throw-away TLS certificate for serve --allow-remote tests
)

# The XDR files of the pinned libvirt version the protocol client is generated from (into .cache).
fetch_libvirt_protocol() {
  "$(dirname "${BASH_SOURCE[0]}")/../scripts/libvirt-protocol/fetch.sh" >/dev/null ||
    echo "tests/setup.sh: libvirt's .x files could not be fetched; the regeneration test will skip." >&2
}

missing=()
for package in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$package")
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "tests/setup.sh: all ${#packages[@]} Debian packages the tests need are installed."
  fetch_libvirt_protocol
  exit 0
fi

echo "tests/setup.sh: installing missing Debian packages: ${missing[*]}"
if [[ $(id -u) -eq 0 ]]; then
  sudo=()
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
  sudo=(sudo -n)
else
  echo "tests/setup.sh: not root and no passwordless sudo. Run this, then try again:" >&2
  echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "tests/setup.sh: installed ${missing[*]}"
fetch_libvirt_protocol
