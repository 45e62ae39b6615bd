import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EngineError } from '../api/errors';
import { probeMonitorArgv } from '../qemu/argv/probe';
import { QmpClient } from '../qemu/qmp/client';
import { QmpClosedError } from '../qemu/qmp/errors';

export interface BriefQemuOptions {
  /** Budget for startup plus `work`; QEMU is killed when it runs out. */
  timeoutMs: number;
}

/** QEMU's stderr, trimmed to its own lines, for error messages. */
export function qemuStderrSummary(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .map((line) => line.replace(/^qemu-system-[\w-]+:\s*/, ''));
  return lines.slice(0, 6).join('; ');
}

/**
 * Starts QEMU with `args` plus a private QMP socket, runs `work` against it, then quits QEMU.
 * Used for probes: the caller passes a command line from engine/qemu/argv/probe. If QEMU exits before
 * QMP answers, rejects with a `qemu-error` carrying QEMU's own message, exit code and stderr.
 */
export async function withBriefQemu<T>(binary: string, args: readonly string[], work: (qmp: QmpClient) => Promise<T>, options: BriefQemuOptions): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'virtdesk-probe-'));
  const socket = join(dir, 'qmp.sock');
  const child = spawn(binary, [...args, ...probeMonitorArgv(socket)], {
    stdio: ['ignore', 'ignore', 'pipe'],
    // A probe that aborts (`-cpu host` on some hosts) must not drop a core file in the caller's folder.
    cwd: dir,
  });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    if (stderr.length < 64 * 1024) stderr += chunk;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; spawnError?: Error }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    child.once('error', (spawnError) => resolve({ code: null, signal: null, spawnError }));
  });
  const controller = new AbortController();
  const failure = exited.then(async (exit) => {
    // Let the last stderr bytes arrive before quoting them.
    await new Promise((resolve) => setImmediate(resolve));
    const error = startupFailure(binary, args, exit, stderr);
    controller.abort(error);
    return error;
  });
  const killTimer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
  let qmp: QmpClient | undefined;
  try {
    qmp = await QmpClient.connect(socket, { timeoutMs: options.timeoutMs, waitForSocket: true, signal: controller.signal });
    const result = await work(qmp);
    await qmp.quit(Math.min(5000, options.timeoutMs));
    return result;
  } catch (error) {
    // QMP closing under us means QEMU died: how it died (its stderr) is the useful message.
    if (error instanceof QmpClosedError) {
      const died = await Promise.race([failure, new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 2000).unref())]);
      if (died) throw died;
    }
    throw error;
  } finally {
    await qmp?.close().catch(() => {});
    if (child.exitCode === null && child.signalCode === null) {
      const graceful = setTimeout(() => child.kill('SIGKILL'), 3000);
      child.kill('SIGTERM');
      await exited;
      clearTimeout(graceful);
    } else {
      await exited;
    }
    clearTimeout(killTimer);
    await rm(dir, { recursive: true, force: true });
  }
}

function startupFailure(
  binary: string,
  args: readonly string[],
  exit: { code: number | null; signal: NodeJS.Signals | null; spawnError?: Error },
  stderr: string,
): EngineError {
  if (exit.spawnError) {
    return new EngineError('unavailable', `Could not run ${binary}: ${exit.spawnError.message}`, { details: { binary }, cause: exit.spawnError });
  }
  const how = exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
  const said = qemuStderrSummary(stderr);
  return new EngineError('qemu-error', `QEMU exited at startup (${how})${said ? `: ${said}` : ''}`, {
    details: { binary, args: [...args], exitCode: exit.code, signal: exit.signal, stderr },
  });
}
