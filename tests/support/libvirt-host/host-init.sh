#!/usr/bin/env bash
# Runs inside fresh mount and UTS namespaces (started by libvirt-host.ts through unshare):
# makes ROOT's folders this namespace's libvirt folders, sets the host name, and starts the
# fake host's own virtlogd, libvirtd and (with an sshd_config in ROOT) a key-only sshd. The
# daemons keep the namespaces alive after this script ends.
#   host-init.sh ROOT HOSTNAME
set -euo pipefail
root="$1"
hostname "$2"
mount --make-rprivate /
for dir in run/libvirt var/lib/libvirt var/cache/libvirt var/log/libvirt etc/libvirt; do
  mkdir -p "/$dir"
  mount --bind "$root/$dir" "/$dir"
done
virtlogd -d -p /run/libvirt/virtlogd.pid
libvirtd -d -p /run/libvirt/libvirtd.pid
if [[ -f "$root/ssh/sshd_config" ]]; then
  /usr/sbin/sshd -f "$root/ssh/sshd_config"
fi
# libvirtd has daemonized; its socket appears once its drivers are up.
for _ in $(seq 1 200); do
  [[ -S /run/libvirt/libvirt-sock ]] && exit 0
  sleep 0.05
done
echo "host-init.sh: libvirtd made no socket within 10 s; its log: $root/var/log/libvirt/libvirtd.log" >&2
exit 1
