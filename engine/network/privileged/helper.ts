/**
 * The body of virtdesk-net-helper (entry: helper-main.ts): the only Virtdesk code that runs as root. Started by pkexec with one
 * argument, a JSON operation from the fixed list in operations.ts; prints one JSON line
 * `{ok, result | error}`. It validates the operation itself, keeps its state in a fixed
 * folder, only creates taps for the user pkexec says called it, records that user as the owner
 * of everything it creates and touches nothing another user (or root) owns (ownership.ts).
 */
import { toErrorInfo, EngineError } from '../../api/errors';
import { localRunner } from '../command-runner';
import { executeOperation } from './execute';
import { parsePrivilegedOperation } from './operations';
import { callerUid, ROOT_UID } from './ownership';
import { SYSTEM_NETWORK_STATE_ROOT } from './state-paths';

export async function helperMain(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<{ exitCode: number; output: string }> {
  try {
    if ((process.geteuid?.() ?? 0) !== 0) {
      throw new EngineError('permission-denied', 'virtdesk-net-helper must run as root (through pkexec)');
    }
    if (argv.length !== 1 || argv[0] === undefined) {
      throw new EngineError('invalid-argument', 'usage: virtdesk-net-helper OPERATION-JSON');
    }
    let raw: unknown;
    try {
      raw = JSON.parse(argv[0]);
    } catch {
      throw new EngineError('invalid-argument', 'The operation is not valid JSON');
    }
    const op = parsePrivilegedOperation(raw);
    const caller = callerUid(env);
    if (op.op === 'tap.add' && caller !== ROOT_UID && op.uid !== caller) {
      throw new EngineError('permission-denied', `A tap may only be created for the calling user (uid ${caller}), not uid ${op.uid}`);
    }
    const result = await executeOperation(op, { runner: localRunner(), stateRoot: SYSTEM_NETWORK_STATE_ROOT, caller });
    return { exitCode: 0, output: `${JSON.stringify({ ok: true, result })}\n` };
  } catch (error) {
    return { exitCode: 1, output: `${JSON.stringify({ ok: false, error: toErrorInfo(error) })}\n` };
  }
}
