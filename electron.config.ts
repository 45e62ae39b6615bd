import type { Configuration } from 'electron-builder';

/**
 * The .deb dependencies electron-builder lists itself when `deb.depends` is not set
 * (app-builder-lib FpmTarget.getDefaultDepends): setting `depends` replaces them, and without them a
 * minimal system fails with "libnss3.so: cannot open shared object file".
 */
export const ELECTRON_DEB_DEPENDS = ['libgtk-3-0', 'libnotify4', 'libnss3', 'libxss1', 'libxtst6', 'xdg-utils', 'libatspi2.0-0', 'libuuid1', 'libsecret-1-0'];
/** Likewise for `deb.recommends` (FpmTarget.getDefaultRecommends). */
export const ELECTRON_DEB_RECOMMENDS = ['libappindicator3-1'];

/**
 * Packaging for Linux desktops (AppImage and .deb). Build with
 * `npx electron-builder --config electron.config.ts` after `npm run build`, on a machine that can
 * download Electron's release zips and the AppImage tools (these CI machines cannot).
 */
const config: Configuration = {
  appId: 'org.virtdesk.Virtdesk',
  productName: 'Virtdesk',
  copyright: 'Copyright © Virtdesk contributors',
  directories: { output: 'dist/packages', buildResources: 'assets' },
  // buildResources (assets/) is left out of the app unless named: the windows' icon is.
  files: ['dist/electron/**', 'dist/node/**', 'dist/renderer/**', 'assets/icons/256x256.png', 'package.json', '!**/*.map', '!dist/node/net-helper.cjs'],
  asar: true,
  // The per-VM supervisor (dist/node/supervisor.cjs, one CommonJS file) runs in a utilityProcess;
  // it is loaded from plain files, not from inside the archive (main/electron/locations.ts).
  asarUnpack: ['dist/node/**'],
  // The network helper pkexec runs as root, beside the app (<app>/net-helper/): its bundle, the
  // launcher template and the polkit policy. The .deb's after-install installs the launcher as
  // /usr/libexec/virtdesk/virtdesk-net-helper and the policy (assets/linux/install-net-helper.sh).
  // It runs under the system Node.js (deb.depends), never Electron: the runAsNode fuse is off.
  extraFiles: [
    { from: 'dist/node/net-helper.cjs', to: 'net-helper/net-helper.cjs' },
    { from: 'assets/polkit/virtdesk-net-helper.in', to: 'net-helper/virtdesk-net-helper.in' },
    { from: 'assets/polkit/org.virtdesk.network-helper.policy', to: 'net-helper/org.virtdesk.network-helper.policy' },
    { from: 'assets/linux/install-net-helper.sh', to: 'net-helper/install-net-helper.sh' },
  ],
  // Security fuses: no ELECTRON_RUN_AS_NODE (the per-VM supervisors are utilityProcesses, which do
  // not need it), no NODE_OPTIONS or --inspect, encrypted cookies, and the app only from app.asar.
  electronFuses: {
    runAsNode: false,
    enableCookieEncryption: true,
    enableNodeOptionsEnvironmentVariable: false,
    enableNodeCliInspectArguments: false,
    // Electron checks app.asar's integrity only on macOS and Windows: on Linux this fuse does
    // nothing, and a package's files are as trustworthy as the root-owned folder they sit in.
    enableEmbeddedAsarIntegrityValidation: true,
    onlyLoadAppFromAsar: true,
    loadBrowserProcessSpecificV8Snapshot: false,
    grantFileProtocolExtraPrivileges: false,
  },
  linux: {
    target: ['AppImage', 'deb'],
    executableName: 'virtdesk',
    category: 'System;Emulator',
    icon: 'assets/icons',
    synopsis: 'Desktop manager for KVM/QEMU virtual machines',
    description: 'Create, run and watch KVM/QEMU virtual machines: disk images, networks and an embedded console.',
    // The .desktop file is named after package.json's desktopName (org.virtdesk.Virtdesk.desktop),
    // which Electron also uses as the Wayland app_id and X11 WM_CLASS; StartupWMClass follows it.
    syncDesktopName: true,
    desktop: { entry: { Name: 'Virtdesk', Keywords: 'vm;virtual machine;qemu;kvm;' } },
  },
  deb: {
    // Electron's own libraries, QEMU (the engine drives it directly, as virt-manager's package
    // pulls in libvirt's), and Node.js for the network helper (Debian 12 and Ubuntu 24.04 ship 18).
    depends: [...ELECTRON_DEB_DEPENDS, 'qemu-system-x86', 'qemu-utils', 'nodejs (>= 18)', 'ovmf', 'osinfo-db', 'dnsmasq-base', 'nftables', 'iproute2'],
    recommends: [...ELECTRON_DEB_RECOMMENDS, 'qemu-system-gui', 'pkexec | policykit-1'],
    // electron-builder's scripts (symlink, chrome-sandbox, AppArmor profile) plus the network helper.
    afterInstall: 'assets/linux/after-install.tpl',
    afterRemove: 'assets/linux/after-remove.tpl',
  },
};

export default config;
