import { spawn, type ChildProcess } from 'node:child_process';
import { open, stat } from 'node:fs/promises';
import { EngineError } from '../../api/errors';
import { findRunningQemu, readPidFile } from './pidfile';
import { extractQemuMessage, qemuStartError } from './qemu-errors';
import { clearRuntimeFiles, prepareRuntimeDir, type VmRuntimePaths } from './paths';

export interface LaunchRequest<T> {
  vmId: string;
  vmName: string;
  /** Absolute path (or PATH name) of qemu-system-x86_64. */
  binary: string;
  args: readonly string[];
  paths: VmRuntimePaths;
  /**
   * Called once the socket to wait for exists; resolves when QEMU is ready (typically a QMP
   * handshake, which only completes once QEMU finished creating devices). Raced against QEMU
   * exiting, so an early death is reported with QEMU's own message.
   */
  connect: () => Promise<T>;
  /** Which socket marks "QEMU is listening"; the command QMP socket by default. */
  waitForSocket?: string;
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  /** Timing hook (benchmarks): called as QEMU is spawned, its socket appears, `connect` resolves. */
  onPhase?: (phase: 'spawned' | 'socket' | 'connected') => void;
}

export interface LaunchResult<T> {
  pid: number;
  connection: T;
  /** Where this run's output starts in qemu.log. */
  logOffset: number;
  /**
   * QEMU's exit status, known only to the process that launched it (its parent): resolves when
   * QEMU ends while this process lives.
   */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const POLL_MS = 10;

function quoteArg(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

async function isSocket(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isSocket();
  } catch {
    return false;
  }
}

async function readFrom(path: string, offset: number): Promise<string> {
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    const length = Math.max(0, Math.min(size - offset, 64 * 1024));
    const buffer = Buffer.alloc(length);
    await handle.read(buffer, 0, length, offset);
    return buffer.toString('utf8');
  } finally {
    await handle.close();
  }
}

function missingBinaryError(binary: string): EngineError {
  return new EngineError('unavailable', `QEMU is not installed: cannot run ${binary}.`, {
    hint: 'Install it with `sudo apt install qemu-system-x86 qemu-utils` (Debian/Ubuntu) or `sudo dnf install qemu-kvm qemu-img` (Fedora).',
  });
}

type Ended = { kind: 'error'; error: NodeJS.ErrnoException } | { kind: 'exit'; code: number | null; signal: NodeJS.Signals | null };

/** A QEMU spawned detached and not yet known to be ready: what `awaitQemuReady` continues from. */
export interface SpawnedQemu {
  readonly binary: string;
  readonly args: readonly string[];
  readonly child: ChildProcess;
  /** Where this run's output starts in qemu.log. */
  readonly logOffset: number;
  readonly ended: Promise<Ended>;
}

export type SpawnRequest = Pick<LaunchRequest<unknown>, 'vmId' | 'vmName' | 'binary' | 'args' | 'paths' | 'env' | 'onPhase'> & {
  /** Said in qemu.log's header line, e.g. why this QEMU was spawned ahead of its start. */
  note?: string;
};

/**
 * Spawns QEMU detached (own session, stdio into the VM's qemu.log) so it outlives every Virtdesk
 * process, after checking that the VM's QEMU is not already running and clearing stale sockets.
 */
export async function spawnQemu(request: SpawnRequest): Promise<SpawnedQemu> {
  const { paths } = request;
  await prepareRuntimeDir(paths);
  const running = await findRunningQemu(paths);
  if (running !== undefined) {
    throw new EngineError('invalid-state', `Cannot start VM "${request.vmName}": it is already running (QEMU pid ${running}).`);
  }
  await clearRuntimeFiles(paths);

  const log = await open(paths.qemuLog, 'a', 0o600);
  let offset: number;
  try {
    offset = (await log.stat()).size;
    const header = `[virtdesk] ${new Date().toISOString()} starting VM ${request.vmId}${request.note ? ` (${request.note})` : ''}: ${[request.binary, ...request.args].map(quoteArg).join(' ')}\n`;
    await log.write(header);
    offset += Buffer.byteLength(header);
  } catch (error) {
    await log.close();
    throw error;
  }

  try {
    const child = spawn(request.binary, [...request.args], {
      detached: true,
      // A QEMU that aborts must not drop a core file wherever the caller happens to be.
      cwd: paths.runDir,
      stdio: ['ignore', log.fd, log.fd],
      env: request.env ?? process.env,
    });
    request.onPhase?.('spawned');
    // Listen before anything awaits: a spawn failure is emitted on the next tick.
    const ended = new Promise<Ended>((resolve) => {
      child.once('error', (error) => resolve({ kind: 'error', error }));
      child.once('exit', (code, signal) => resolve({ kind: 'exit', code, signal }));
    });
    return { binary: request.binary, args: [...request.args], child, logOffset: offset, ended };
  } finally {
    // The child holds its own copy of the descriptor.
    await log.close();
  }
}

/** Kills a spawned QEMU that will not be used (it is paused: the guest never ran) and clears its files. */
export async function discardSpawnedQemu(spawned: SpawnedQemu, paths: VmRuntimePaths): Promise<void> {
  if (spawned.child.exitCode === null && spawned.child.signalCode === null && spawned.child.pid !== undefined) {
    try {
      process.kill(spawned.child.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  await spawned.ended;
  await clearRuntimeFiles(paths).catch(() => undefined);
}

/** Spawns QEMU (see spawnQemu), waits until its socket exists and `connect` succeeds, and returns its pid. */
export async function launchQemu<T>(request: LaunchRequest<T>): Promise<LaunchResult<T>> {
  return awaitQemuReady(await spawnQemu(request), request);
}

/**
 * Waits until a spawned QEMU's socket exists and `connect` succeeds. A QEMU that dies first is
 * reported with its own message from qemu.log; one that hangs is killed at the deadline.
 */
export async function awaitQemuReady<T>(spawned: SpawnedQemu, request: LaunchRequest<T>): Promise<LaunchResult<T>> {
  const { paths } = request;
  const { child, ended, logOffset: offset } = spawned;
  // Called once QEMU is gone: it does not remove the sockets it created before failing.
  const failure = async (outcome: Ended): Promise<EngineError> => {
    await clearRuntimeFiles(paths).catch(() => undefined);
    if (outcome.kind === 'error') {
      if (outcome.error.code === 'ENOENT') return missingBinaryError(request.binary);
      if (outcome.error.code === 'EACCES') {
        return new EngineError('permission-denied', `Cannot run ${request.binary}: permission denied.`, { hint: 'Check that the QEMU binary is executable.' });
      }
      return new EngineError('qemu-error', `Cannot run ${request.binary}: ${outcome.error.message}`);
    }
    const exit = outcome.signal ? `signal ${outcome.signal}` : `exit code ${outcome.code}`;
    const tail = await readFrom(paths.qemuLog, offset).catch(() => '');
    return qemuStartError(extractQemuMessage(tail, request.binary), { vmName: request.vmName, qemuLog: paths.qemuLog, exit });
  };

  const deadline = Date.now() + (request.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  const socket = request.waitForSocket ?? paths.qmpCommandSocket;
  let exited: Ended | undefined;
  void ended.then((outcome) => (exited = outcome));

  const killAndThrow = async (error: EngineError): Promise<never> => {
    if (child.pid !== undefined && exited === undefined) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
      await ended;
    }
    await clearRuntimeFiles(paths).catch(() => undefined);
    throw error;
  };

  while (!(await isSocket(socket))) {
    if (exited) throw await failure(exited);
    if (Date.now() > deadline) {
      return killAndThrow(
        new EngineError('timeout', `QEMU did not open its control socket for VM "${request.vmName}" within ${Math.round((request.timeoutMs ?? DEFAULT_TIMEOUT_MS) / 1000)} s.`, {
          hint: `The host may be overloaded; QEMU's output is in ${paths.qemuLog}.`,
        }),
      );
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }

  request.onPhase?.('socket');
  let connection: T;
  let timer: NodeJS.Timeout | undefined;
  try {
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new EngineError('timeout', `QEMU did not answer on its control socket for VM "${request.vmName}" in time.`, { hint: `QEMU's output is in ${paths.qemuLog}.` })),
        Math.max(1000, deadline - Date.now()),
      );
    });
    connection = await Promise.race([
      request.connect(),
      ended.then(async (outcome) => {
        throw await failure(outcome);
      }),
      timeout,
    ]);
  } catch (error) {
    // A handshake that failed because QEMU is dying is reported with QEMU's message; the socket
    // may close a moment before the exit is seen.
    const outcome = exited ?? (await Promise.race([ended, new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 1000))]));
    if (outcome) throw await failure(outcome);
    return killAndThrow(error instanceof EngineError ? error : new EngineError('qemu-error', `Could not talk to QEMU for VM "${request.vmName}": ${String(error)}`));
  } finally {
    clearTimeout(timer);
  }

  request.onPhase?.('connected');
  // QEMU keeps running after we exit; don't hold the event loop open for it.
  child.unref();
  const pid = child.pid ?? (await readPidFile(paths.pidFile));
  if (pid === undefined) throw new EngineError('internal', `QEMU for VM "${request.vmName}" has no pid.`);
  const exitStatus = ended.then((outcome) => (outcome.kind === 'exit' ? { code: outcome.code, signal: outcome.signal } : { code: null, signal: null }));
  return { pid, connection, logOffset: offset, exited: exitStatus };
}
