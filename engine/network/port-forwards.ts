import { EngineError } from '../api/errors';
import type { PortForward, PortProtocol } from '../model/nic';
import { hostForwardRule } from '../qemu/argv/nics';
import { netdevId } from '../qemu/argv/ids';
import { assertHostPortFree } from './port-holders';
import { forwardsClash, formatPortForward } from './port-forward-spec';

/** The one QMP call port forwarding needs (QmpClient has it). */
export interface HumanMonitor {
  humanMonitorCommand(commandLine: string): Promise<string>;
}

/** A forward slirp reports as active (`info usernet`). */
export interface ActiveForward {
  /** The -netdev id, e.g. `net0-backend`. */
  netdev: string;
  protocol: PortProtocol;
  hostAddress: string;
  hostPort: number;
  guestAddress: string;
  guestPort: number;
}

/**
 * Parses HMP `info usernet` (QEMU 7.2): a `Hub -1 (NETDEV):` header per user netdev, then a
 * table whose `TCP[HOST_FORWARD]` / `UDP[HOST_FORWARD]` rows are the forwards.
 */
export function parseUsernetForwards(text: string): ActiveForward[] {
  const forwards: ActiveForward[] = [];
  let netdev: string | undefined;
  for (const line of text.split(/\r?\n/)) {
    const header = /^\S.*\((.+)\):\s*$/.exec(line);
    if (header) {
      netdev = header[1];
      continue;
    }
    const row = /^\s*(TCP|UDP)\[HOST_FORWARD\]\s+-?\d+\s+(\S+)\s+(\d+)\s+(\S+)\s+(\d+)/.exec(line);
    if (row && netdev !== undefined) {
      forwards.push({
        netdev,
        protocol: row[1]!.toLowerCase() as PortProtocol,
        hostAddress: row[2]!,
        hostPort: Number(row[3]),
        guestAddress: row[4]!,
        guestPort: Number(row[5]),
      });
    }
  }
  return forwards;
}

export async function listActiveForwards(monitor: HumanMonitor): Promise<ActiveForward[]> {
  return parseUsernetForwards(await monitor.humanMonitorCommand('info usernet'));
}

/** HMP reports failure as text, not as a QMP error: any output from hostfwd_add is a failure. */
function hmpFailure(output: string, what: string, hint?: string): EngineError {
  return new EngineError('qemu-error', `${what}: QEMU said "${output.trim()}"`, hint ? { hint } : {});
}

/**
 * Adds a forward to a running VM's user-mode NIC. The host port is checked first so a taken
 * port is reported with the process holding it; QEMU's own refusal is reported too.
 */
export async function addActiveForward(monitor: HumanMonitor, nicId: string, forward: PortForward): Promise<void> {
  await assertHostPortFree(forward.protocol, forward.hostAddress, forward.hostPort);
  const output = await monitor.humanMonitorCommand(`hostfwd_add ${netdevId(nicId)} ${hostForwardRule(forward)}`);
  if (output.trim() !== '') {
    throw hmpFailure(output, `Could not add port forward ${formatPortForward(forward)} to NIC ${nicId}`, 'Check that the host port is free and that the NIC uses user-mode networking.');
  }
}

/** Removes a forward from a running VM; `removed: false` when QEMU had no such rule. */
export async function removeActiveForward(monitor: HumanMonitor, nicId: string, forward: Pick<PortForward, 'protocol' | 'hostAddress' | 'hostPort'>): Promise<{ removed: boolean }> {
  const rule = `${forward.protocol}:${forward.hostAddress}:${forward.hostPort}`;
  const output = (await monitor.humanMonitorCommand(`hostfwd_remove ${netdevId(nicId)} ${rule}`)).trim();
  if (/ removed$/.test(output)) return { removed: true };
  if (/ not found$/.test(output)) return { removed: false };
  throw hmpFailure(output, `Could not remove port forward ${rule} from NIC ${nicId}`);
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
