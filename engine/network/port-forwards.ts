import { EngineError } from '../api/errors';
import type { PortForward } from '../model/nic';
import { hostForwardKey, hostForwardRule } from '../qemu/argv/nics';
import { netdevId } from '../qemu/argv/ids';
import type { QmpClient, UsernetForward } from '../qemu/qmp';
import { assertHostPortFree } from './port-holders';
import { forwardsClash, formatPortForward } from '../model/net/port-forward-spec';

/** The monitor calls port forwarding needs (QmpClient has them). */
export type UsernetMonitor = Pick<QmpClient, 'usernetForwards' | 'hostfwdAdd' | 'hostfwdRemove'>;

/** A forward slirp reports as active (`info usernet`). */
export type ActiveForward = UsernetForward;

export async function listActiveForwards(monitor: UsernetMonitor): Promise<ActiveForward[]> {
  return monitor.usernetForwards();
}

/** HMP reports failure as text, not as a QMP error: any output from hostfwd_add is a failure. */
function hmpFailure(output: string, what: string, hint?: string): EngineError {
  return new EngineError('qemu-error', `${what}: QEMU said "${output.trim()}"`, hint ? { hint } : {});
}

/**
 * Adds a forward to a running VM's user-mode NIC. The host port is checked first so a taken
 * port is reported with the process holding it; QEMU's own refusal is reported too.
 */
export async function addActiveForward(monitor: UsernetMonitor, nicId: string, forward: PortForward): Promise<void> {
  await assertHostPortFree(forward.protocol, forward.hostAddress, forward.hostPort);
  const output = await monitor.hostfwdAdd(netdevId(nicId), hostForwardRule(forward));
  if (output !== '') {
    throw hmpFailure(output, `Could not add port forward ${formatPortForward(forward)} to NIC ${nicId}`, 'Check that the host port is free and that the NIC uses user-mode networking.');
  }
}

/** Removes a forward from a running VM; `removed: false` when QEMU had no such rule. */
export async function removeActiveForward(monitor: UsernetMonitor, nicId: string, forward: Pick<PortForward, 'protocol' | 'hostAddress' | 'hostPort'>): Promise<{ removed: boolean }> {
  const rule = hostForwardKey(forward);
  const outcome = await monitor.hostfwdRemove(netdevId(nicId), rule);
  if ('failure' in outcome) throw hmpFailure(outcome.failure, `Could not remove port forward ${rule} from NIC ${nicId}`);
  return outcome;
}

/** Refuses a new forward that would bind the same host socket as one already defined on the VM. */
export function assertNoForwardClash(existing: readonly PortForward[], candidate: PortForward): void {
  const clash = existing.find((forward) => forwardsClash(forward, candidate));
  if (clash) {
    throw new EngineError('already-exists', `Port forward ${formatPortForward(candidate)} clashes with ${formatPortForward(clash)}, already on this VM`, {
      hint: 'Use another host port, or remove the existing forward first.',
    });
  }
}
