import { spawn } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import { EngineError, type ErrorInfo } from '../../api/errors';
import { localRunner, type CommandRunner } from '../command-runner';
import { executeOperation } from './execute';
import { parsePrivilegedOperation, type PrivilegedOperation, type ResultOf } from './operations';

/** Where packages install the helper launcher; the polkit policy names this exact path. */
export const DEFAULT_HELPER_PATH = '/usr/libexec/virtdesk/virtdesk-net-helper';
export const PKEXEC_PATHS = ['/usr/bin/pkexec', '/bin/pkexec'];

export interface PrivilegedOptions {
  /** Runs host tools; tests pass a namespace runner. Used only on the in-process (root) path. */
  runner?: CommandRunner;
  /** The state folder when running in-process as root (see networkStateRoot). */
  stateRoot: string;
  /** The installed helper; `$VIRTDESK_NET_HELPER` or DEFAULT_HELPER_PATH. */
  helperPath?: string;
  /** For tests of the pkexec path. */
  euid?: number;
  /** Whom the in-process (root) path acts for; default root. Tests use it to act as another user. */
  caller?: number;
  pkexecPath?: string;
}

/**
 * The one way the engine performs a privileged step. As root, the operation is validated
 * and run in this process (same code as the helper). Otherwise the helper runs through
 * pkexec, which asks the user per the polkit policy in assets/polkit/, and validates the
 * operation again on its side.
 */
export async function runPrivileged<O extends PrivilegedOperation>(op: O, options: PrivilegedOptions): Promise<ResultOf<O>> {
  const validated = parsePrivilegedOperation(op) as O;
  const euid = options.euid ?? process.geteuid?.() ?? 0;
  if (euid === 0) {
    return executeOperation(validated, { runner: options.runner ?? localRunner(), stateRoot: options.stateRoot, caller: options.caller ?? euid });
  }
  return runThroughPkexec(validated, options);
}

async function findPkexec(options: PrivilegedOptions): Promise<string | undefined> {
  for (const candidate of options.pkexecPath ? [options.pkexecPath] : PKEXEC_PATHS) {
    if (await access(candidate, constants.X_OK).then(() => true, () => false)) return candidate;
  }
  return undefined;
}

function describe(op: PrivilegedOperation): string {
  switch (op.op) {
    case 'bridge.create':
      return `creating bridge ${op.bridge}`;
    case 'dnsmasq.start':
    case 'nft.apply':
      return `starting network ${op.network.name}`;
    default:
      return `the network operation ${op.op}`;
  }
}

async function runThroughPkexec<O extends PrivilegedOperation>(op: O, options: PrivilegedOptions): Promise<ResultOf<O>> {
  const pkexec = await findPkexec(options);
  const helper = options.helperPath ?? process.env.VIRTDESK_NET_HELPER ?? DEFAULT_HELPER_PATH;
  if (!pkexec) {
    throw new EngineError('permission-denied', `${capitalize(describe(op))} needs root, and pkexec (polkit) is not installed to ask for it`, {
      hint: 'Install polkit (apt-get install pkexec) or run Virtdesk as root; user-mode networking and private links need no privileges.',
    });
  }
  if (!(await access(helper, constants.X_OK).then(() => true, () => false))) {
    throw new EngineError('unavailable', `${capitalize(describe(op))} needs the Virtdesk network helper, which is not installed at ${helper}`, {
      hint: 'Install Virtdesk from its package (it ships the helper and its polkit policy), or set VIRTDESK_NET_HELPER.',
    });
  }
  const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(pkexec, [helper, JSON.stringify(op)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (err += c));
    child.on('error', reject);
    child.on('close', (exitCode) => resolve({ code: exitCode ?? 1, stdout: out, stderr: err }));
  });
  // pkexec: 126 = the user dismissed the dialog, 127 = not authorized (or no agent to ask).
  if (code === 126 || code === 127) {
    throw new EngineError('permission-denied', `${capitalize(describe(op))} was not authorized`, {
      hint: code === 126 ? 'Authenticate when asked, or run Virtdesk as root.' : `polkit refused: ${stderr.trim() || 'no authentication agent is running'}`,
    });
  }
  const reply = parseReply(stdout);
  if (!reply) throw new EngineError('internal', `The network helper failed (exit ${code}): ${stderr.trim() || stdout.trim()}`);
  if (!reply.ok) throw EngineError.fromInfo(reply.error);
  return reply.result as ResultOf<O>;
}

type HelperReply = { ok: true; result: unknown } | { ok: false; error: ErrorInfo };

function parseReply(stdout: string): HelperReply | undefined {
  const line = stdout.trim().split('\n').pop();
  if (!line) return undefined;
  try {
    const value = JSON.parse(line) as HelperReply;
    return typeof value === 'object' && value !== null && 'ok' in value ? value : undefined;
  } catch {
    return undefined;
  }
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
