import { EngineError } from '../api/errors';
import type { VmDefinition } from '../model/definition';
import type { Nic, PortForward, PortProtocol } from '../model/nic';
import { assertNotTemplate } from '../vm/ops/clone/template';
import { findRunningQemu } from '../vm/runtime/pidfile';
import { withCommandQmp } from '../vm/runtime/qmp-session';
import { vmRuntimePaths } from '../vm/runtime/paths';
import { openVmStore, type VmStore } from '../vm/definitions/store';
import { assertHostPortFree } from './port-holders';
import { forwardsClash, formatPortForward } from '../model/net/port-forward-spec';
import { addActiveForward, assertNoForwardClash, listActiveForwards, removeActiveForward, type UsernetMonitor } from './port-forwards';

/**
 * Port forwards of a VM's user-mode NICs as one operation each: the definition is the record
 * (forwards survive restarts), and a running VM gets the change at once over QMP.
 */
export interface VmPortForwardContext {
  home: string;
  env: NodeJS.ProcessEnv;
  store?: VmStore;
  /** Runs `fn` with the VM's QMP when its QEMU runs; undefined when it does not (tests may replace it). */
  withRunningQmp?: <T>(def: VmDefinition, fn: (monitor: UsernetMonitor) => Promise<T>) => Promise<T | undefined>;
}

export interface VmPortForwardEntry {
  nic: string;
  forward: PortForward;
  /** Whether QEMU has it right now; null while the VM is not running. */
  active: boolean | null;
}

export interface VmPortForwardList {
  vm: { id: string; name: string };
  running: boolean;
  forwards: VmPortForwardEntry[];
}

/** What identifies a forward to remove: protocol and host port, and the host address when given. */
export interface ForwardSelector {
  protocol: PortProtocol;
  hostPort: number;
  hostAddress?: string;
}

function defaultWithRunningQmp(ctx: VmPortForwardContext) {
  return async <T>(def: VmDefinition, fn: (monitor: UsernetMonitor) => Promise<T>): Promise<T | undefined> => {
    const paths = vmRuntimePaths(ctx.home, def.id, ctx.env);
    if ((await findRunningQemu(paths)) === undefined) return undefined;
    return withCommandQmp(paths, def.name, fn);
  };
}

function userNics(def: VmDefinition): (Nic & { network: Extract<Nic['network'], { kind: 'user' }> })[] {
  return def.nics.filter((nic): nic is Nic & { network: Extract<Nic['network'], { kind: 'user' }> } => nic.network.kind === 'user');
}

function pickUserNic(def: VmDefinition, nicId: string | undefined): Nic {
  const candidates = userNics(def);
  if (nicId !== undefined) {
    const nic = def.nics.find((n) => n.id === nicId);
    if (!nic) throw new EngineError('not-found', `VM "${def.name}" has no NIC ${nicId}`, { hint: `Its NICs: ${def.nics.map((n) => n.id).join(', ') || 'none'}.` });
    if (nic.network.kind !== 'user') {
      throw new EngineError('invalid-argument', `NIC ${nicId} of VM "${def.name}" is on ${nic.network.kind} "${'name' in nic.network ? nic.network.name : ''}"; port forwards exist only on user-mode NAT`, {
        hint: 'On a virtual or bridged network, reach the guest at its own address (virtdesk net leases NETWORK).',
      });
    }
    return nic;
  }
  if (candidates.length === 0) {
    throw new EngineError('invalid-argument', `VM "${def.name}" has no user-mode NAT NIC, so it has no port forwards`, {
      hint: 'Port forwards need a NIC with --net user.',
    });
  }
  if (candidates.length > 1) {
    throw new EngineError('invalid-argument', `VM "${def.name}" has ${candidates.length} user-mode NICs (${candidates.map((n) => n.id).join(', ')})`, { hint: 'Say which with --nic ID.' });
  }
  return candidates[0]!;
}

function matches(forward: PortForward, selector: ForwardSelector): boolean {
  return forward.protocol === selector.protocol && forward.hostPort === selector.hostPort && (selector.hostAddress === undefined || forward.hostAddress === selector.hostAddress);
}

export async function listVmPortForwards(ctx: VmPortForwardContext, ref: string): Promise<VmPortForwardList> {
  const store = ctx.store ?? openVmStore(ctx.home);
  const def = await store.resolve(ref);
  const active = await (ctx.withRunningQmp ?? defaultWithRunningQmp(ctx))(def, (monitor) => listActiveForwards(monitor));
  const forwards = userNics(def).flatMap((nic) =>
    nic.network.portForwards.map((forward) => ({
      nic: nic.id,
      forward,
      active: active === undefined ? null : active.some((a) => a.netdev === `${nic.id}-backend` && a.protocol === forward.protocol && a.hostPort === forward.hostPort),
    })),
  );
  return { vm: { id: def.id, name: def.name }, running: active !== undefined, forwards };
}

/**
 * Adds a forward: refused when it clashes with a forward of this VM or of another VM's
 * definition, or when the host port is taken now (naming the holder). Applied live when the VM
 * runs, then recorded in the definition (undone live if the record fails).
 */
export async function addVmPortForward(ctx: VmPortForwardContext, ref: string, forward: PortForward, options: { nic?: string } = {}): Promise<{ nic: string; applied: boolean }> {
  const store = ctx.store ?? openVmStore(ctx.home);
  const def = await store.resolve(ref);
  await assertNotTemplate(ctx.home, def, 'edit');
  const nic = pickUserNic(def, options.nic);
  assertNoForwardClash(userNics(def).flatMap((n) => n.network.portForwards), forward);
  for (const other of (await store.list()).items) {
    if (other.id === def.id) continue;
    const clash = userNics(other).flatMap((n) => n.network.portForwards).find((f) => forwardsClash(f, forward));
    if (clash) {
      throw new EngineError('already-exists', `Port forward ${formatPortForward(forward)} clashes with ${formatPortForward(clash)} of VM "${other.name}"`, {
        hint: 'Two VMs cannot listen on the same host port; choose another.',
      });
    }
  }
  const withQmp = ctx.withRunningQmp ?? defaultWithRunningQmp(ctx);
  const applied = (await withQmp(def, async (monitor) => {
    await addActiveForward(monitor, nic.id, forward);
    return true;
  })) ?? false;
  if (!applied) await assertHostPortFree(forward.protocol, forward.hostAddress, forward.hostPort);
  try {
    await store.update(def.id, (fresh) => ({
      nics: fresh.nics.map((n) => (n.id === nic.id && n.network.kind === 'user' ? { ...n, network: { ...n.network, portForwards: [...n.network.portForwards, forward] } } : n)),
    }));
  } catch (error) {
    if (applied) await withQmp(def, (monitor) => removeActiveForward(monitor, nic.id, forward)).catch(() => undefined);
    throw error;
  }
  return { nic: nic.id, applied };
}

/** Removes a forward from the definition and, when the VM runs, closes it at once. */
export async function removeVmPortForward(ctx: VmPortForwardContext, ref: string, selector: ForwardSelector, options: { nic?: string } = {}): Promise<{ nic: string; removed: PortForward; applied: boolean }> {
  const store = ctx.store ?? openVmStore(ctx.home);
  const def = await store.resolve(ref);
  await assertNotTemplate(ctx.home, def, 'edit');
  const found = userNics(def)
    .filter((n) => options.nic === undefined || n.id === options.nic)
    .flatMap((n) => n.network.portForwards.filter((f) => matches(f, selector)).map((f) => ({ nic: n.id, forward: f })));
  const spec = `${selector.protocol}:${selector.hostAddress ? `${selector.hostAddress}:` : ''}${selector.hostPort}`;
  if (found.length === 0) {
    throw new EngineError('not-found', `VM "${def.name}" has no port forward ${spec}`, { hint: `List them with \`virtdesk vm port-forward ${def.name} list\`.` });
  }
  if (found.length > 1) {
    throw new EngineError('invalid-argument', `${found.length} port forwards of VM "${def.name}" match ${spec}`, { hint: 'Give the host address too, e.g. tcp:127.0.0.1:8080, or --nic.' });
  }
  const { nic, forward } = found[0]!;
  await store.update(def.id, (fresh) => ({
    nics: fresh.nics.map((n) => (n.id === nic && n.network.kind === 'user' ? { ...n, network: { ...n.network, portForwards: n.network.portForwards.filter((f) => !matches(f, forward)) } } : n)),
  }));
  const result = await (ctx.withRunningQmp ?? defaultWithRunningQmp(ctx))(def, (monitor) => removeActiveForward(monitor, nic, forward));
  return { nic, removed: forward, applied: result?.removed ?? false };
}
