import { chmod, lstat, mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { EngineError } from '../../api/errors';
import { runtimeRoot } from '../../paths';

/** Every file one running VM uses outside its definition. */
export interface VmRuntimePaths {
  /** `<runtimeRoot>/<id>`, mode 0700; holds the sockets and the pidfile. */
  runDir: string;
  /** QMP for the VM's supervisor, which stays connected to hear events. */
  qmpSocket: string;
  /**
   * A second QMP monitor for one-shot commands (CLI, host process): QEMU serves one client per
   * QMP socket, so a supervisor holding `qmpSocket` would otherwise lock everyone else out.
   */
  qmpCommandSocket: string;
  vncSocket: string;
  serialSocket: string;
  /** The supervisor's serial multiplexer: QEMU's `serialSocket` serves one viewer, this any number. */
  serialMuxSocket: string;
  pidFile: string;
  /** Serial output kept by QEMU itself (`logfile=`), in the VM's data folder so it survives. */
  serialLog: string;
  /** QEMU's own stdout/stderr, appended across starts. */
  qemuLog: string;
  /** What the starter decided (pid, accelerator, CPU model); gone when the VM stops. */
  runtimeRecord: string;
  /** Left by whoever forces a VM off, so its watcher knows the end was no crash. */
  stopIntent: string;
  /** How the previous run ended; in the data folder so it survives reboots of the host. */
  lastExit: string;
}

/** `sun_path` is 108 bytes including the terminating NUL. */
export const MAX_SOCKET_PATH_BYTES = 107;

const SOCKET_NAMES = { qmp: 'qmp.sock', qmpCommand: 'qmp-cmd.sock', vnc: 'vnc.sock', serial: 'serial.sock', serialMux: 'serial-mux.sock' } as const;
const LONGEST_SOCKET_NAME = Object.values(SOCKET_NAMES).reduce((a, b) => (a.length >= b.length ? a : b));

export function vmDataDir(home: string, id: string): string {
  return join(home, 'vms', id);
}

/** The definition in a VM's data folder (the VM store's document file). */
export function vmDefinitionFile(home: string, vmId: string): string {
  return join(vmDataDir(home, vmId), 'vm.json');
}

/** Present while the VM has a saved state (`virtdesk vm save`); written last, so it marks a complete one. */
export function savedStateRecordFile(home: string, vmId: string): string {
  return join(vmDataDir(home, vmId), 'saved', 'state.json');
}

/** Present while the VM is a template (read-only base of linked clones). */
export function templateMarkFile(home: string, vmId: string): string {
  return join(vmDataDir(home, vmId), 'template.json');
}

function fitsSocketPath(dir: string): boolean {
  return Buffer.byteLength(join(dir, LONGEST_SOCKET_NAME)) <= MAX_SOCKET_PATH_BYTES;
}

function currentUid(): number {
  return process.getuid?.() ?? 0;
}

/**
 * A short per-user folder used when the normal runtime root would make socket paths too long
 * (a deep `$VIRTDESK_HOME`). Derived from the root so every process finds the same one.
 */
export function fallbackRuntimeRoot(root: string): string {
  // node:crypto only on this rare path: a VM supervisor imports this module, and loading crypto
  // would cost each one about half a MiB of memory.
  const digest = process.getBuiltinModule('node:crypto').createHash('sha256').update(root).digest('hex').slice(0, 12);
  return join('/tmp', `virtdesk-${currentUid()}`, digest);
}

/** The runtime folder of VM `id`, falling back to a short path when sockets would not fit. */
export function vmRuntimeDir(home: string, id: string, env: NodeJS.ProcessEnv = process.env): string {
  const root = runtimeRoot(home, env);
  const normal = join(root, id);
  if (fitsSocketPath(normal)) return normal;
  const fallback = join(fallbackRuntimeRoot(root), id);
  if (fitsSocketPath(fallback)) return fallback;
  throw new EngineError('invalid-argument', `The VM id "${id}" makes its socket paths longer than the ${MAX_SOCKET_PATH_BYTES} bytes a unix socket allows.`, {
    hint: 'Use a VM id of at most 40 characters (a UUID fits).',
  });
}

export function vmRuntimePaths(home: string, id: string, env: NodeJS.ProcessEnv = process.env): VmRuntimePaths {
  const runDir = vmRuntimeDir(home, id, env);
  const dataDir = vmDataDir(home, id);
  return {
    runDir,
    qmpSocket: join(runDir, SOCKET_NAMES.qmp),
    qmpCommandSocket: join(runDir, SOCKET_NAMES.qmpCommand),
    vncSocket: join(runDir, SOCKET_NAMES.vnc),
    serialSocket: join(runDir, SOCKET_NAMES.serial),
    serialMuxSocket: join(runDir, SOCKET_NAMES.serialMux),
    pidFile: join(runDir, 'qemu.pid'),
    serialLog: join(dataDir, 'serial.log'),
    qemuLog: join(dataDir, 'qemu.log'),
    runtimeRecord: join(runDir, 'runtime.json'),
    stopIntent: join(runDir, 'stop-intent.json'),
    lastExit: join(dataDir, 'last-exit.json'),
  };
}

/** Makes `dir` (and missing parents) exist, owned by us, mode 0700, and not a symlink. */
export async function ensurePrivateDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const info = await lstat(dir);
  if (!info.isDirectory()) {
    throw new EngineError('permission-denied', `The runtime folder ${dir} is not a plain folder (a symlink or file is in its place).`, {
      hint: `Remove ${dir} and try again.`,
    });
  }
  if (info.uid !== currentUid()) {
    throw new EngineError('permission-denied', `The runtime folder ${dir} belongs to another user (uid ${info.uid}).`, {
      hint: `Remove ${dir}, or set VIRTDESK_RUNTIME_DIR to a folder of your own.`,
    });
  }
  if ((info.mode & 0o077) !== 0) await chmod(dir, 0o700);
}

/** Creates the VM's runtime folder (0700) and its data folder; returns the paths. */
export async function prepareRuntimeDir(paths: VmRuntimePaths): Promise<void> {
  const fallbackBase = paths.runDir.startsWith(`/tmp/virtdesk-${currentUid()}/`) ? `/tmp/virtdesk-${currentUid()}` : undefined;
  // The shared /tmp parent is checked first so nobody else can own a folder we then trust.
  if (fallbackBase) await ensurePrivateDir(fallbackBase);
  await ensurePrivateDir(join(paths.runDir, '..'));
  await ensurePrivateDir(paths.runDir);
  await mkdir(join(paths.serialLog, '..'), { recursive: true });
}

/** Removes everything a previous run left in the runtime folder, so a launch waits for fresh sockets. */
export async function clearRuntimeFiles(paths: VmRuntimePaths): Promise<void> {
  await Promise.all(
    [paths.qmpSocket, paths.qmpCommandSocket, paths.vncSocket, paths.serialSocket, paths.serialMuxSocket, paths.pidFile, paths.runtimeRecord, paths.stopIntent].map((file) =>
      rm(file, { force: true }),
    ),
  );
}

/**
 * After QEMU `pid` ended: removes its sockets, pidfile and runtime record, unless a new QEMU has
 * already been started in the folder (its pidfile names another pid). The stop intent stays for
 * a watcher that has not read it yet; the next launch removes it.
 */
export async function clearAfterExit(paths: VmRuntimePaths, pid: number): Promise<void> {
  const current = await readFile(paths.pidFile, 'utf8').then((text) => Number.parseInt(text.trim(), 10), () => undefined);
  if (current !== undefined && !Number.isNaN(current) && current !== pid) return;
  await Promise.all(
    [paths.qmpSocket, paths.qmpCommandSocket, paths.vncSocket, paths.serialSocket, paths.serialMuxSocket, paths.pidFile, paths.runtimeRecord].map((file) => rm(file, { force: true })),
  );
}

/** Removes the whole runtime folder; only call when no QEMU of this VM runs. */
export async function removeRuntimeDir(paths: VmRuntimePaths): Promise<void> {
  await rm(paths.runDir, { recursive: true, force: true });
}

/**
 * The runtime folders that exist among `paths`, found with one readdir per runtime root: a VM
 * without one has never run here (or was deleted), so its pidfile need not be looked for. Keeps a
 * poll cheap with hundreds of stopped VMs.
 */
export async function existingRunDirs(paths: readonly Pick<VmRuntimePaths, 'runDir'>[]): Promise<Set<string>> {
  const parents = new Set(paths.map((one) => dirname(one.runDir)));
  const found = new Set<string>();
  await Promise.all(
    [...parents].map(async (parent) => {
      for (const entry of await readdir(parent).catch(() => [] as string[])) found.add(`${parent}/${entry}`);
    }),
  );
  return found;
}
