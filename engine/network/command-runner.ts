import { spawn } from 'node:child_process';

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs host tools (ip, nft, dnsmasq, sysctl). Network code takes one of these instead of
 * spawning directly so tests can run the same code inside a network namespace.
 */
export interface CommandRunner {
  run(command: string, args: readonly string[], options?: { input?: string; timeoutMs?: number }): Promise<CommandResult>;
  /** The namespace commands run in, when not the caller's own; a child like QEMU or dnsmasq is started the same way. */
  readonly netns?: string;
  /** The argv prefix that puts a program into `netns` (empty for the caller's namespace). */
  wrap(command: string, args: readonly string[]): { command: string; args: string[] };
}

function runProcess(command: string, args: readonly string[], options: { input?: string; timeoutMs?: number } = {}): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C' } });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr });
    });
    child.stdin.on('error', () => {});
    child.stdin.end(options.input ?? '');
  });
}

export function localRunner(): CommandRunner {
  return {
    run: runProcess,
    wrap: (command, args) => ({ command, args: [...args] }),
  };
}

/** Runs every command through `ip netns exec NAME` (root only). */
export function netnsRunner(netns: string): CommandRunner {
  const wrap = (command: string, args: readonly string[]) => ({ command: 'ip', args: ['netns', 'exec', netns, command, ...args] });
  return {
    netns,
    wrap,
    run: (command, args, options) => {
      const wrapped = wrap(command, args);
      return runProcess(wrapped.command, wrapped.args, options);
    },
  };
}
