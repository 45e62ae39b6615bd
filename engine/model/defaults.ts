/**
 * Every default of a VM definition, in one place (house rule 3): the wizard, the CLI, the
 * details editor and the tests all get these by building definitions through engine/model,
 * never by repeating them.
 */
export const VM_DEFAULTS = {
  description: '',
  /** No groups: tags are the person's own. */
  tags: [] as readonly string[],
  /**
   * BIOS (SeaBIOS) boots everything our test guests and most ISOs need without an NVRAM file;
   * UEFI is one field away for guests that require it (Windows 11, Secure Boot).
   */
  firmware: 'bios',
  secureBoot: false,
  /** q35 as in virt-manager: PCIe, AHCI, hot-plug through root ports. */
  machine: 'q35',
  /** `auto` lets the host probe choose KVM when it can run ordinary guests, else TCG. */
  accelerator: 'auto',
  /** `default` lets the host probe choose (host-passthrough under KVM with fallbacks, `max` under TCG). */
  cpuModel: 'default',
  vcpus: 1,
  memoryMiB: 1024,
  /**
   * Disk first, then CD-ROM: a blank disk does not boot, so firmware falls through to the
   * installer ISO; once installed, the disk wins. Network boot only when asked (PXE timeouts).
   */
  bootOrder: ['disk', 'cdrom'],
  bootMenu: false,
  directKernelCmdline: '',
  diskFormat: 'qcow2',
  diskBus: 'virtio',
  /**
   * writeback: virt-manager leaves the cache mode unset for file-backed disks, so libvirt passes
   * none and QEMU uses its default, writeback (host page cache on, guest flushes honoured, so
   * it is crash-safe for guests that flush). virt-manager picks `none` only for block devices.
   */
  diskCache: 'writeback',
  /**
   * unmap: virt-manager sets discard=unmap on the sparse images it creates, so a guest's TRIM
   * gives space back to the host.
   */
  diskDiscard: 'unmap',
  diskReadOnly: false,
  /** SATA works on q35 (AHCI) and pc (an added AHCI controller) and every guest has a driver. */
  cdromBus: 'sata',
  nicModel: 'virtio',
  portForwardProtocol: 'tcp',
  /** Forwards listen on loopback only: a guest's services are not exposed to the LAN by accident. */
  portForwardHostAddress: '127.0.0.1',
  vnc: true,
  video: 'virtio-vga',
  usbTablet: true,
  serial: true,
  balloon: true,
  rng: true,
  autostart: false,
} as const;
