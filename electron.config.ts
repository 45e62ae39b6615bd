import type { Configuration } from 'electron-builder';

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
  files: ['dist/electron/**', 'dist/node/**', 'dist/renderer/**', 'package.json', '!**/*.map'],
  asar: true,
  // The per-VM supervisor (dist/node/supervisor.cjs, one CommonJS file) runs in a utilityProcess;
  // it is loaded from plain files, not from inside the archive (main/electron/locations.ts).
  asarUnpack: ['dist/node/**'],
  // Security fuses: no ELECTRON_RUN_AS_NODE (the per-VM supervisors are utilityProcesses, which do
  // not need it), encrypted cookies, and only an integrity-checked app.asar may be loaded.
  electronFuses: {
    runAsNode: false,
    enableCookieEncryption: true,
    enableNodeOptionsEnvironmentVariable: false,
    enableNodeCliInspectArguments: false,
    enableEmbeddedAsarIntegrityValidation: true,
    onlyLoadAppFromAsar: true,
    loadBrowserProcessSpecificV8Snapshot: false,
    grantFileProtocolExtraPrivileges: false,
  },
  linux: {
    target: ['AppImage', 'deb'],
    category: 'System;Emulator',
    icon: 'assets/icons',
    synopsis: 'Desktop manager for KVM/QEMU virtual machines',
    description: 'Create, run and watch KVM/QEMU virtual machines: disk images, networks and an embedded console.',
    desktop: { entry: { Name: 'Virtdesk', Keywords: 'vm;virtual machine;qemu;kvm;' } },
  },
  deb: {
    depends: ['qemu-system-x86', 'qemu-utils', 'ovmf', 'osinfo-db', 'dnsmasq-base', 'nftables', 'iproute2'],
    recommends: ['qemu-system-gui'],
  },
};

export default config;
