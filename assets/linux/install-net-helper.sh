#!/bin/sh
# Installs Virtdesk's network helper for pkexec, from the files the package puts in APP_DIR/net-helper:
#   /usr/libexec/virtdesk/virtdesk-net-helper                      the launcher pkexec runs (root:root 0755)
#   /usr/share/polkit-1/actions/org.virtdesk.network-helper.policy the polkit action naming that path
# The .deb's after-install runs it as root. ROOT stages the files elsewhere (tests); the launcher
# still points at APP_DIR, where the package keeps the helper bundle.
# Usage: install-net-helper.sh APP_DIR [ROOT] [NODE]
set -eu
app_dir=$1
root=${2:-}
node=${3:-/usr/bin/node}
source_dir="$app_dir/net-helper"
libexec="$root/usr/libexec/virtdesk"
actions="$root/usr/share/polkit-1/actions"

# chown needs root; only a test staging files as another user runs this without it.
own() { if [ "$(id -u)" -eq 0 ]; then chown root:root "$1"; fi; }

mkdir -p "$libexec" "$actions"
chmod 0755 "$libexec"
# Written beside, then renamed: pkexec never sees a half-written launcher.
sed -e "s|@NODE@|'$node'|" -e "s|@HELPER@|'$source_dir/net-helper.cjs'|" "$source_dir/virtdesk-net-helper.in" > "$libexec/virtdesk-net-helper.new"
own "$libexec/virtdesk-net-helper.new"
chmod 0755 "$libexec/virtdesk-net-helper.new"
mv -f "$libexec/virtdesk-net-helper.new" "$libexec/virtdesk-net-helper"
cp "$source_dir/org.virtdesk.network-helper.policy" "$actions/org.virtdesk.network-helper.policy.new"
own "$actions/org.virtdesk.network-helper.policy.new"
chmod 0644 "$actions/org.virtdesk.network-helper.policy.new"
mv -f "$actions/org.virtdesk.network-helper.policy.new" "$actions/org.virtdesk.network-helper.policy"
# The bundle the launcher runs as root must be root's alone (dpkg installs it so; make sure).
own "$source_dir/net-helper.cjs"
chmod 0644 "$source_dir/net-helper.cjs"
