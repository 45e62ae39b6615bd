#!/usr/bin/env bash
# Builds the Virtdesk test guest from Debian packages only and caches it.
#
#   tests/guest/build.sh            -> prints the output folder as the last stdout line
#
# Output: ${VIRTDESK_GUEST_CACHE:-<repo>/.cache/guest}/<key>/
#   vmlinuz, initrd.img, guest.iso, blank.qcow2, manifest.json
# <key> hashes the Debian package versions used, the host tool versions that
# shape the output, and this file. Everything the guest runs (init, inittab,
# DHCP script, ACPI handler, GRUB config) is generated from here-documents in
# this file, so editing any of it changes the key and triggers a rebuild.
# See tests/guest/README.md.
set -euo pipefail

SCRIPT_PATH="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")"
REPO_ROOT="$(cd "$(dirname "$SCRIPT_PATH")/../.." && pwd)"
CACHE="${VIRTDESK_GUEST_CACHE:-$REPO_ROOT/.cache/guest}"

# Kernel command line, shared by direct -kernel boots and the ISO's GRUB entry.
# console=ttyS0 comes last so /dev/console (init's messages, the shell) is the
# serial port; tty0 still gets kernel messages for the screen.
CMDLINE="console=tty0 console=ttyS0,115200 quiet"
READY_FORMAT='VIRTDESK-READY ip=<comma-separated IPv4 addresses, or none>'
MARKER_FORMAT='VIRTDESK-MARKER boot=<n> time=<unix seconds>'
# Module names (as in modinfo) the guest loads; their dependencies are added
# from modules.dep and everything is insmod'ed in dependency order.
# Base modules are loaded before the ready line on every boot.
BASE_MODULES=(
  virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci
  virtio_blk failover net_failover virtio_net virtio_console
  virtio_balloon virtio_rng virtio_input
  button evdev
)
# SCSI/CD-ROM/IDE modules (~0.3 s under TCG) are loaded before the ready line
# only when a virtio-scsi or IDE controller is present at boot, otherwise in
# the background just after it (so hot-plugged controllers still get a driver).
# The cloud kernel has no AHCI driver: q35's SATA/AHCI disks stay invisible.
STORAGE_MODULES=(scsi_common scsi_mod virtio_scsi sd_mod cdrom sr_mod isofs libata ata_piix)
BASE_NAMES=() STORAGE_NAMES=() # filled by select_modules, in load order

log() { printf '[guest-build] %s\n' "$*" >&2; }
die() { printf '[guest-build] error: %s\n' "$*" >&2; exit 1; }

need() {
  local tool=$1 pkg=$2
  command -v "$tool" >/dev/null 2>&1 || die "'$tool' not found; install it with: apt-get install $pkg"
}

tool_version() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo unknown; }

check_tools() {
  need apt-get apt; need apt-cache apt; need dpkg-deb dpkg
  need cpio cpio; need gzip gzip; need flock util-linux; need sha256sum coreutils
  need grub-mkrescue grub-common; need xorriso xorriso; need mformat mtools
  need qemu-img qemu-utils
  [[ -d /usr/lib/grub/i386-pc ]] || die "GRUB BIOS modules missing; install them with: apt-get install grub-pc-bin"
}

# --- package resolution -----------------------------------------------------
# apt-cache takes ~0.6 s here (its binary cache is disabled in Docker-style
# images), so the resolution is memoised per state of the apt lists.
resolve_packages() {
  local stamp_src stamp memo
  stamp_src="$(sha256sum "$SCRIPT_PATH")
$(stat -c '%n %s %Y' /var/lib/apt/lists/*Packages* /etc/apt/sources.list /etc/apt/sources.list.d/* /etc/apt/preferences.d/* 2>/dev/null || true)"
  stamp=$(printf '%s' "$stamp_src" | sha256sum | cut -c1-16)
  memo="$CACHE/resolve/$stamp"
  if [[ -s $memo ]]; then
    # shellcheck disable=SC1090
    source "$memo"
    return
  fi

  local show kdep
  show=$(apt-cache show --no-all-versions linux-image-cloud-amd64 busybox-static 2>/dev/null) ||
    die "apt-cache cannot find linux-image-cloud-amd64/busybox-static; run apt-get update"
  BB_VER=$(awk '/^Package: /{p=$2} p=="busybox-static" && /^Version: /{print $2; exit}' <<<"$show")
  [[ -n $BB_VER ]] || die "no busybox-static in apt; run apt-get update"
  kdep=$(awk '/^Package: /{p=$2} p=="linux-image-cloud-amd64" && /^Depends: /{sub(/^Depends: /,""); print; exit}' <<<"$show")
  KPKG=$(grep -oE 'linux-image-[0-9][^ ,|]*-cloud-amd64' <<<"$kdep" | head -n1 || true)
  KPKG_VER=$(grep -oE "${KPKG:-none} \(= [^)]+\)" <<<"$kdep" | sed -E 's/.*\(= ([^)]+)\)/\1/' || true)
  if [[ -z $KPKG ]]; then
    # No metapackage: take the highest versioned cloud kernel apt knows.
    KPKG=$(apt-cache pkgnames linux-image- | grep -E '^linux-image-[0-9].*-cloud-amd64$' | sort -V | tail -n1 || true)
    [[ -n $KPKG ]] || die "no linux-image-*-cloud-amd64 package in apt; run apt-get update"
  fi
  if [[ -z $KPKG_VER ]]; then
    KPKG_VER=$(apt-cache show --no-all-versions "$KPKG" | awk '/^Version: /{print $2; exit}')
  fi
  KVER=${KPKG#linux-image-}
  mkdir -p "$CACHE/resolve"
  find "$CACHE/resolve" -type f ! -name "$stamp" ! -name '*.tmp.*' -delete 2>/dev/null || true
  printf 'KPKG=%q\nKPKG_VER=%q\nKVER=%q\nBB_VER=%q\n' "$KPKG" "$KPKG_VER" "$KVER" "$BB_VER" >"$memo.tmp.$$"
  mv -f "$memo.tmp.$$" "$memo"
}

# --- downloads ---------------------------------------------------------------
# fetch_deb NAME VERSION -> prints the path of the .deb in $CACHE/debs
fetch_deb() {
  local name=$1 ver=$2 enc f tmp
  enc=${ver//:/%3a}
  for f in "$CACHE/debs/${name}_${enc}_"*.deb; do
    [[ -s $f ]] && { printf '%s\n' "$f"; return; }
  done
  log "downloading $name=$ver"
  tmp=$(mktemp -d "$CACHE/debs/.dl.XXXXXX")
  local apt_opts=()
  # As root, apt drops to the _apt user, which cannot write into our folder.
  [[ $EUID -eq 0 ]] && apt_opts+=(-o APT::Sandbox::User=root)
  (cd "$tmp" && apt-get download -q "${apt_opts[@]}" "$name=$ver" >&2) || { rm -rf "$tmp"; die "apt-get download $name=$ver failed"; }
  for f in "$tmp"/*.deb; do
    [[ $(dpkg-deb -f "$f" Package) == "$name" ]] || { rm -rf "$tmp"; die "unexpected download $f"; }
    mv -f "$f" "$CACHE/debs/"
    printf '%s\n' "$CACHE/debs/$(basename "$f")"
  done
  rm -rf "$tmp"
}

# --- guest files (all content of the guest lives here) -------------------------
write_guest_files() {
  local root=$1
  mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc/acpi/PWRF,proc,sys,dev,tmp,run,root,www,var/log,mnt}

  # /init: runs as PID 1, prepares the system, then hands over to busybox init,
  # which runs /etc/rc (sysinit) and respawns shells on ttyS0 and tty1.
  cat >"$root/init" <<'EOF'
#!/bin/sh
export PATH=/sbin:/bin:/usr/sbin:/usr/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
exec </dev/console >/dev/console 2>&1
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
exec /sbin/init
EOF

  cat >"$root/etc/inittab" <<'EOF'
::sysinit:/etc/rc
ttyS0::respawn:-/bin/sh
tty1::respawn:-/bin/sh
::ctrlaltdel:/sbin/poweroff -f
::shutdown:/bin/sync
EOF

  # /etc/rc: modules, network, HTTP, ACPI, disk marker, then the ready line.
  cat >"$root/etc/rc" <<'EOF'
#!/bin/sh
export PATH=/sbin:/bin:/usr/sbin:/usr/bin
hostname virtdesk-guest
kver=$(uname -r)
load_modules() {
  while read -r m; do
    insmod "/lib/modules/$kver/$m" 2>>/tmp/insmod.log || echo "virtdesk-guest: insmod $m failed" >>/tmp/insmod.log
  done <"$1"
}
load_modules /etc/modules.base
storage=0 # virtio-scsi (legacy/modern id) or any IDE controller (class 0x0101xx)
for d in /sys/bus/pci/devices/*; do
  read -r v <"$d/vendor"; read -r id <"$d/device"; read -r c <"$d/class"
  case "$v:$id" in 0x1af4:0x1004|0x1af4:0x1048) storage=1 ;; esac
  case "$c" in 0x0101*) storage=1 ;; esac
done
[ "$storage" = 1 ] && load_modules /etc/modules.storage

ip link set lo up
for path in /sys/class/net/*; do
  i=${path##*/}
  [ "$i" = lo ] && continue
  ip link set "$i" up
  udhcpc -i "$i" -s /etc/udhcpc.script -q -n -t 4 -T 1 >>/tmp/udhcpc.log 2>&1 &
done

acpid -c /etc/acpi -l /var/log/acpid.log

# Disk marker: written to sector 0 of /dev/vda when a virtio disk exists and
# that sector is blank (all zero) or already holds a marker; any other disk
# content is left alone.
write_marker() {
  want=0
  for d in /sys/bus/virtio/devices/*; do
    [ "$(cat "$d/device" 2>/dev/null)" = 0x0002 ] && want=1
  done
  [ "$want" = 1 ] || return 0
  n=0
  while [ ! -b /dev/vda ] && [ "$n" -lt 50 ]; do usleep 100000; n=$((n + 1)); done
  [ -b /dev/vda ] || { echo "virtdesk-guest: virtio disk present but no /dev/vda"; return 0; }
  head=$(dd if=/dev/vda bs=512 count=1 2>/dev/null | tr -d '\000')
  case "$head" in
    "") prev=0 ;;
    "VIRTDESK-MARKER boot="*)
      prev=${head#VIRTDESK-MARKER boot=}
      prev=${prev%% *}
      case "$prev" in ''|*[!0-9]*) prev=0 ;; esac ;;
    *) echo "virtdesk-guest: /dev/vda is not blank; marker not written"; return 0 ;;
  esac
  printf 'VIRTDESK-MARKER boot=%d time=%d\n' $((prev + 1)) "$(date +%s)" |
    dd of=/dev/vda bs=512 count=1 conv=sync,notrunc,fsync 2>/dev/null
  sync
}
write_marker

wait  # DHCP clients (each gives up after ~4 s without a server)
ips=$(ip -4 -o addr show scope global 2>/dev/null | awk '{sub(/\/.*/, "", $4); print $4}' | paste -sd, -)
[ -n "$ips" ] || ips=none

cat >/www/index.html <<HTML
<!doctype html>
<html><head><title>virtdesk-test-guest</title></head>
<body><h1>virtdesk-test-guest</h1><p>ip=$ips kernel=$kver</p></body></html>
HTML
httpd -p 80 -h /www

echo "VIRTDESK-READY ip=$ips" >/dev/ttyS0
echo "VIRTDESK-READY ip=$ips" >/dev/tty1 2>/dev/null
# rc is a session leader on the console: shield the late loader from the
# SIGHUP the kernel sends when rc exits.
[ "$storage" = 1 ] || (trap '' HUP; load_modules /etc/modules.storage) </dev/null >/dev/null 2>&1 &
exit 0
EOF

  cat >"$root/etc/udhcpc.script" <<'EOF'
#!/bin/sh
case "$1" in
  deconfig)
    ip -4 addr flush dev "$interface"
    ip link set dev "$interface" up
    ;;
  bound|renew)
    ip -4 addr flush dev "$interface"
    ifconfig "$interface" "$ip" ${subnet:+netmask "$subnet"} ${broadcast:+broadcast "$broadcast"}
    if [ -n "$router" ]; then
      while route del default gw 0.0.0.0 dev "$interface" 2>/dev/null; do :; done
      for r in $router; do route add default gw "$r" dev "$interface"; break; done
    fi
    : >/etc/resolv.conf
    for d in $dns; do echo "nameserver $d" >>/etc/resolv.conf; done
    ;;
esac
exit 0
EOF

  # busybox acpid maps KEY_POWER from /dev/input/event* to the action
  # "PWRF/00000080", executed relative to its config dir.
  cat >"$root/etc/acpi/PWRF/00000080" <<'EOF'
#!/bin/sh
echo "virtdesk-guest: power button pressed, powering off" >/dev/console
sync
poweroff -f
EOF

  cat >"$root/etc/profile" <<'EOF'
export PATH=/sbin:/bin:/usr/sbin:/usr/bin HOME=/root
export PS1='virtdesk-guest# '
cd /root
EOF
  printf 'root:x:0:0:root:/root:/bin/sh\n' >"$root/etc/passwd"
  printf 'root:x:0:\n' >"$root/etc/group"
  : >"$root/etc/resolv.conf"
  chmod 0755 "$root/init" "$root/etc/rc" "$root/etc/udhcpc.script" "$root/etc/acpi/PWRF/00000080"
}

# --- module selection -----------------------------------------------------------
# select_modules KDIR ROOT -> copies the wanted modules and their dependencies
# (uncompressed) into ROOT and writes ROOT/etc/modules.{base,storage}: module
# paths in load order.
select_modules() {
  local kdir=$1 root=$2 bb=$3
  local mdir="$kdir/lib/modules/$KVER"
  [[ -d $mdir/kernel ]] || die "no modules in $KPKG"
  # Busybox insmod of this build cannot be relied on for compressed modules:
  # decompress any .ko.xz/.ko.zst/.ko.gz first (Debian 12 ships plain .ko).
  local f
  while IFS= read -r -d '' f; do
    case $f in
      *.ko.xz) xz -d -f "$f" ;;
      *.ko.zst) zstd -q -d --rm -f "$f" ;;
      *.ko.gz) gzip -d -f "$f" ;;
    esac
  done < <(find "$mdir/kernel" -name '*.ko.*' -print0)
  "$bb" depmod -b "$kdir" "$KVER"
  [[ -s $mdir/modules.dep ]] || die "depmod produced no modules.dep"

  declare -gA DEP=() PATH_OF=() SEEN=()
  local line mod deps name
  while IFS= read -r line; do
    mod=${line%%:*}
    deps=${line#*:}
    DEP[$mod]=$deps
    name=$(basename "$mod" .ko)
    PATH_OF[${name//-/_}]=$mod
  done <"$mdir/modules.dep"

  ORDER=()
  visit() {
    local p=$1 d
    [[ -n ${SEEN[$p]:-} ]] && return 0
    SEEN[$p]=1
    for d in ${DEP[$p]}; do visit "$d"; done
    ORDER+=("$p")
  }
  local rmdir="$root/lib/modules/$KVER" group
  mkdir -p "$rmdir"
  for group in base storage; do
    local -n wanted=${group^^}_MODULES
    local -n names=${group^^}_NAMES
    ORDER=()
    names=()
    for name in "${wanted[@]}"; do
      if [[ -n ${PATH_OF[$name]:-} ]]; then
        visit "${PATH_OF[$name]}"
      elif grep -qE "/${name//_/[-_]}\.ko$" "$mdir/modules.builtin" 2>/dev/null; then
        log "module $name is built into the kernel"
      else
        die "module $name not found in $KPKG"
      fi
    done
    : >"$root/etc/modules.$group"
    for mod in "${ORDER[@]}"; do
      mkdir -p "$rmdir/$(dirname "$mod")"
      cp "$mdir/$mod" "$rmdir/$mod"
      printf '%s\n' "$mod" >>"$root/etc/modules.$group"
      name=$(basename "$mod" .ko)
      names+=("${name//-/_}")
    done
    unset -n wanted names
  done
  cp "$mdir/modules.builtin" "$mdir/modules.order" "$rmdir/" 2>/dev/null || true
  # modules.dep for the subset, so `modprobe` works inside the guest too.
  "$bb" depmod -b "$root" "$KVER"
}

json_str() { # minimal JSON string escaping for our own ASCII values
  local s=${1//\\/\\\\}
  s=${s//\"/\\\"}
  printf '"%s"' "$s"
}

build() {
  local out=$1 work=$2
  local kdeb bbdeb
  kdeb=$(fetch_deb "$KPKG" "$KPKG_VER" | tail -n1)
  bbdeb=$(fetch_deb busybox-static "$BB_VER" | tail -n1)

  log "extracting $(basename "$kdeb")"
  mkdir -p "$work/kernel" "$work/busybox" "$work/root"
  dpkg-deb -x "$kdeb" "$work/kernel"
  dpkg-deb -x "$bbdeb" "$work/busybox"
  local vmlinuz="$work/kernel/boot/vmlinuz-$KVER"
  [[ -f $vmlinuz ]] || die "no boot/vmlinuz-$KVER in $kdeb"
  local bb="$work/busybox/bin/busybox"
  [[ -x $bb ]] || die "no bin/busybox in $bbdeb"

  local root="$work/root"
  write_guest_files "$root"
  cp "$bb" "$root/bin/busybox"
  local applet
  while IFS= read -r applet; do
    [[ -z $applet || -e $root/$applet || -L $root/$applet ]] && continue
    mkdir -p "$root/$(dirname "$applet")"
    ln -s /bin/busybox "$root/$applet"
  done < <("$bb" --list-full)
  [[ -e $root/sbin/init ]] || die "busybox has no init applet"

  log "selecting kernel modules"
  select_modules "$work/kernel" "$root" "$bb"
  log "base modules: ${BASE_NAMES[*]}"
  log "storage modules: ${STORAGE_NAMES[*]}"

  # /dev/console in the archive lets the kernel give /init a console before
  # devtmpfs is mounted (needs root; /init reopens it either way).
  mknod -m 600 "$root/dev/console" c 5 1 2>/dev/null || true

  log "packing initramfs"
  (cd "$root" && find . -print0 | LC_ALL=C sort -z |
    cpio --null -o -H newc -R 0:0 --quiet) | gzip -9 -n >"$out/initrd.img"
  cp "$vmlinuz" "$out/vmlinuz"

  log "building ISO with grub-mkrescue"
  local iso="$work/iso"
  mkdir -p "$iso/boot/grub"
  cp "$out/vmlinuz" "$iso/boot/vmlinuz"
  cp "$out/initrd.img" "$iso/boot/initrd.img"
  cat >"$iso/boot/grub/grub.cfg" <<EOF
serial --unit=0 --speed=115200
terminal_input console serial
terminal_output console serial
set timeout=3
set default=0
menuentry "Virtdesk test guest ($KVER)" {
  linux /boot/vmlinuz $CMDLINE
  initrd /boot/initrd.img
}
EOF
  grub-mkrescue --compress=xz -o "$out/guest.iso" "$iso" -- -volid VIRTDESK_GUEST >"$work/grub-mkrescue.log" 2>&1 ||
    { cat "$work/grub-mkrescue.log" >&2; die "grub-mkrescue failed"; }

  qemu-img create -q -f qcow2 "$out/blank.qcow2" 64M

  local base_json="" storage_json="" m
  for m in "${BASE_NAMES[@]}"; do base_json+="${base_json:+, }$(json_str "$m")"; done
  for m in "${STORAGE_NAMES[@]}"; do storage_json+="${storage_json:+, }$(json_str "$m")"; done
  cat >"$out/manifest.json" <<EOF
{
  "schemaVersion": 1,
  "key": $(json_str "$KEY"),
  "kernelVersion": $(json_str "$KVER"),
  "packages": {
    $(json_str "$KPKG"): $(json_str "$KPKG_VER"),
    "busybox-static": $(json_str "$BB_VER")
  },
  "hostTools": {
    "grub-pc-bin": $(json_str "$(tool_version grub-pc-bin)"),
    "xorriso": $(json_str "$(tool_version xorriso)"),
    "qemu-utils": $(json_str "$(tool_version qemu-utils)")
  },
  "cmdline": $(json_str "$CMDLINE"),
  "files": {
    "kernel": "vmlinuz",
    "initrd": "initrd.img",
    "iso": "guest.iso",
    "blankQcow2": "blank.qcow2"
  },
  "modules": {
    "base": [$base_json],
    "storage": [$storage_json],
    "storageLoadedAtBoot": "only with a virtio-scsi or IDE controller; otherwise right after the ready line"
  },
  "readyLine": {
    "console": "ttyS0",
    "format": $(json_str "$READY_FORMAT"),
    "regex": "VIRTDESK-READY ip=(\\\\S+)"
  },
  "http": { "port": 80, "bodyContains": "virtdesk-test-guest" },
  "marker": {
    "device": "/dev/vda",
    "offset": 0,
    "size": 512,
    "format": $(json_str "$MARKER_FORMAT"),
    "layout": "the ASCII line above plus a newline, then zero bytes up to 512",
    "regex": "^VIRTDESK-MARKER boot=(\\\\d+) time=(\\\\d+)\\\\n"
  },
  "builtAt": $(json_str "$(date -u +%Y-%m-%dT%H:%M:%SZ)")
}
EOF
}

main() {
  check_tools
  mkdir -p "$CACHE/debs"
  CACHE=$(cd "$CACHE" && pwd) # callers get absolute paths
  resolve_packages
  local script_hash
  script_hash=$(sha256sum "$SCRIPT_PATH" | cut -d' ' -f1)
  KEY=$(printf '%s\n' "$KPKG=$KPKG_VER" "busybox-static=$BB_VER" \
    "grub-pc-bin=$(tool_version grub-pc-bin)" "xorriso=$(tool_version xorriso)" \
    "build.sh=$script_hash" | sha256sum | cut -c1-12)
  local dest="$CACHE/$KEY"
  if [[ -s $dest/manifest.json ]]; then
    printf '%s\n' "$dest"
    return
  fi

  exec 9>"$CACHE/.lock"
  flock -n 9 || { log "another build is running; waiting for it"; flock 9; }
  if [[ -s $dest/manifest.json ]]; then # another run built it meanwhile
    printf '%s\n' "$dest"
    return
  fi
  # Holding the lock, no other build is running: leftovers of killed builds can go.
  rm -rf "$CACHE"/.build.* "$CACHE"/debs/.dl.*
  local started=$SECONDS
  log "building test guest $KEY ($KPKG $KPKG_VER, busybox-static $BB_VER)"
  BUILD_TMP=$(mktemp -d "$CACHE/.build.XXXXXX")
  trap 'rm -rf "$BUILD_TMP"' EXIT
  mkdir -p "$BUILD_TMP/out" "$BUILD_TMP/work"
  build "$BUILD_TMP/out" "$BUILD_TMP/work"
  rm -rf "$dest"
  mv "$BUILD_TMP/out" "$dest"
  log "built in $((SECONDS - started)) s"
  printf '%s\n' "$dest"
}

main "$@"
