import type { VmDefinition } from '../../model/definition';

/** Files of one running VM that QEMU creates or writes (structurally a subset of engine/vm's VmRuntimePaths). */
export interface RuntimePaths {
  /** The VM's 0700 runtime folder holding the sockets. */
  runDir: string;
  /** QMP socket the supervisor keeps open. */
  qmpSocket: string;
  /** Optional second QMP socket for one-shot clients (QEMU serves one client per monitor). */
  qmpCommandSocket?: string;
  vncSocket: string;
  serialSocket: string;
  /** QEMU appends serial output here itself (`logfile=`, `logappend=on`). */
  serialLog: string;
  pidFile: string;
}

/** What the host probe found in this QEMU binary that the argv depends on. */
export interface QemuCaps {
  /** Device type names from `-device help` / `qom-list-types`. */
  devices: ReadonlySet<string>;
}

/** OVMF files resolved by the host probe (from /usr/share/qemu/firmware/*.json) and the per-VM NVRAM copy. */
export interface ResolvedFirmware {
  /** Read-only code image (a Secure Boot build when definition.firmware.secureBoot). */
  code: string;
  /** This VM's writable variable store, copied from the firmware's template. */
  varsFile: string;
  /** Image format of both files; Debian ships raw. */
  format?: 'raw' | 'qcow2';
}

/**
 * How a NIC that is not user-mode NAT reaches its network, resolved by engine/network before a
 * start (bridge/network kinds: `bridge` or `tap`; link kind: `dgram-unix`).
 */
export type NicBackend =
  /** qemu-bridge-helper creates a tap on `bridge` (needs the helper's ACL to allow it). */
  | { type: 'bridge'; bridge: string; helper: string }
  /** A tap interface that already exists and that this user may open. */
  | { type: 'tap'; ifname: string }
  /** One end of a link: bind `localPath`, send to `remotePath` (the other end's local path). */
  | { type: 'dgram-unix'; localPath: string; remotePath: string };

export interface ArgvOptions {
  /** VNC asks for a password, set and expired at runtime through QMP (`set_password`). */
  vncPassword?: boolean;
  /** Keep QEMU alive (stopped) when the guest powers off, so a supervisor can read why. */
  noShutdown?: boolean;
  /**
   * Wait for a saved state (`-incoming defer`): QEMU starts in the inmigrate state and loads it when
   * told where it is (QMP `migrate-incoming`). Used to restore a VM saved with `virtdesk vm save`.
   */
  incoming?: 'defer';
  /**
   * The exact versioned machine type (e.g. `pc-q35-7.2`) instead of the definition's alias: a saved
   * state or memory snapshot only loads into the machine version it was taken on.
   */
  machineType?: string;
}

export interface ArgvInput {
  definition: VmDefinition;
  /** Resolved from definition.accelerator by the host probe. */
  accel: 'kvm' | 'tcg';
  /** Resolved and probed `-cpu` value, e.g. `max` or `host,-arch-capabilities`. */
  cpuModel: string;
  /** Required when definition.firmware.type is uefi. */
  firmware?: ResolvedFirmware;
  paths: RuntimePaths;
  caps: QemuCaps;
  /** Keyed by NIC id; required for every NIC whose network kind is not `user`. */
  nicBackends?: Readonly<Record<string, NicBackend>>;
  options?: ArgvOptions;
}

/** A `-device` / `-blockdev` / `-netdev` / `-object` props object, serialised as JSON on the command line. */
export type QemuProps = Record<string, unknown>;
