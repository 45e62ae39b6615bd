import { spawn } from 'node:child_process';
import { EngineError } from '../../api/errors';
import { qemuImgError } from './errors';
import { locateQemuImg } from '../../host/locate-qemu-img';

export interface QemuImgRunOptions {
  /** Aborting kills qemu-img (SIGTERM, then SIGKILL) and rejects with a `cancelled` error. */
  signal?: AbortSignal;
  /** Every chunk of stdout as it arrives (progress output of `-p`). */
  onStdout?: (chunk: string) => void;
  env?: NodeJS.ProcessEnv;
}

export interface QemuImgResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

const KILL_GRACE_MS = 2000;

/** Runs qemu-img with an argument vector (never a shell). Resolves with any exit code; callers decide what is failure. */
export async function runQemuImg(args: readonly string[], options: QemuImgRunOptions = {}): Promise<QemuImgResult> {
  const { signal } = options;
  if (signal?.aborted) throw new EngineError('cancelled', 'The operation was cancelled before it started.');
  const binary = await locateQemuImg(options.env ?? process.env);
  return new Promise<QemuImgResult>((resolve, reject) => {
    const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...(options.env ?? process.env), LC_ALL: 'C' } });
    let stdout = '';
    let stderr = '';
    let cancelled = false;
    let killTimer: NodeJS.Timeout | undefined;
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      stdout += chunk;
      options.onStdout?.(chunk);
    });
    child.stderr.on('data', (chunk: string) => {
      stderr += chunk;
    });
    const onAbort = () => {
      cancelled = true;
      child.kill('SIGTERM');
      killTimer = setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    child.on('error', (error) => {
      signal?.removeEventListener('abort', onAbort);
      reject(new EngineError('unavailable', `qemu-img could not be started: ${error.message}`, { cause: error }));
    });
    child.on('close', (code, sig) => {
      signal?.removeEventListener('abort', onAbort);
      if (killTimer) clearTimeout(killTimer);
      if (cancelled) {
        reject(new EngineError('cancelled', 'The operation was cancelled.'));
        return;
      }
      resolve({ stdout, stderr, exitCode: code ?? (sig ? 128 : 1) });
    });
  });
}

/** Runs qemu-img and throws a translated error unless it exits 0. */
export async function runQemuImgOk(action: string, args: readonly string[], options: QemuImgRunOptions = {}): Promise<QemuImgResult> {
  const result = await runQemuImg(args, options);
  if (result.exitCode !== 0) throw qemuImgError(action, result.stderr, result.exitCode);
  return result;
}
