import { parseArgs } from 'node:util';
import { EngineError } from '../api/errors';
import { createHostBridge, deleteHostBridge, hostBridgeWarning, listHostBridges } from '../network/host-bridges';
import { formatSubnet, parseCidr } from '../model/net/ipv4';
import { NETWORK_MODES, type NetworkCreateInput, type NetworkMode } from '../network/network-definition';
import { NetworkManager, type NetworkStatus, type PrivilegedCall } from '../network/network-manager';
import { formatPortForward, parseForwardSelector, parsePortForward } from '../model/net/port-forward-spec';
import { runPrivileged } from '../network/privileged/run-privileged';
import { networkStatePaths } from '../network/privileged/state-paths';
import { addVmPortForward, listVmPortForwards, removeVmPortForward, type VmPortForwardContext } from '../network/vm-port-forwards';
import { virtdeskHome } from '../paths';
import type { CliCommand, CliIo } from './command';
import { UsageError } from './run-cli';

/** How the commands reach the engine; tests replace these (e.g. a manager working in a namespace). */
export interface NetCommandDeps {
  networks(io: CliIo): NetworkManager;
  privileged(io: CliIo, networks: NetworkManager): PrivilegedCall;
  portForwards(io: CliIo): VmPortForwardContext;
}

const defaultDeps: NetCommandDeps = {
  networks: (io) => new NetworkManager({ home: virtdeskHome(io.env), env: io.env }),
  privileged: (_io, networks) => (op) => runPrivileged(op, { runner: networks.runner, stateRoot: networks.stateRoot }),
  portForwards: (io) => ({ home: virtdeskHome(io.env), env: io.env }),
};

function table(rows: string[][]): string {
  if (rows.length === 0) return '';
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return `${rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')).join('\n')}\n`;
}

function json(io: CliIo, value: unknown): void {
  io.stdout(`${JSON.stringify(value, null, 2)}\n`);
}

function oneName(positionals: string[], what = 'NAME'): string {
  if (positionals.length === 0) throw new UsageError(`missing ${what}`);
  if (positionals.length > 1) throw new UsageError(`unexpected argument "${positionals[1]}"`);
  return positionals[0]!;
}

function statusView(status: NetworkStatus) {
  const def = status.definition;
  return {
    id: def.id,
    name: def.name,
    state: status.state,
    mode: def.mode,
    bridge: def.bridge,
    ipv4: def.ipv4,
    subnet: formatSubnet(parseCidr(def.ipv4)),
    dhcp: def.dhcp ?? null,
    dns: def.dns,
    uplink: def.uplink ?? null,
    autostart: def.autostart,
    dnsmasqPid: status.dnsmasqPid ?? null,
    attachedTaps: status.attachedTaps,
    problems: status.problems,
  };
}

export function createNetCommands(overrides: Partial<NetCommandDeps> = {}): CliCommand[] {
  const deps: NetCommandDeps = { ...defaultDeps, ...overrides };

  const list: CliCommand = {
    path: ['net', 'list'],
    summary: 'List virtual networks and their state',
    usage: 'virtdesk net list [--json]',
    async run(args, io) {
      const { values, positionals } = parseArgs({ args, strict: true, allowPositionals: true, options: { json: { type: 'boolean', default: false } } });
      if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
      const { items, problems } = await deps.networks(io).list();
      if (values.json) {
        json(io, { networks: items.map(statusView), problems });
        return 0;
      }
      const rows = [['NAME', 'STATE', 'MODE', 'BRIDGE', 'SUBNET', 'DHCP', 'AUTOSTART']];
      for (const s of items.map(statusView)) {
        rows.push([s.name, s.state, s.mode, s.bridge, s.subnet, s.dhcp ? `${s.dhcp.start}-${s.dhcp.end}` : 'off', s.autostart ? 'yes' : 'no']);
      }
      io.stdout(items.length === 0 ? 'No virtual networks. Create one with `virtdesk net create NAME`.\n' : table(rows));
      for (const problem of problems) io.stderr(`warning: ${problem.message}\n`);
      return 0;
    },
  };

  const show: CliCommand = {
    path: ['net', 'show'],
    summary: "Show a virtual network's definition, state and files",
    usage: 'virtdesk net show NAME [--json]',
    async run(args, io) {
      const { values, positionals } = parseArgs({ args, strict: true, allowPositionals: true, options: { json: { type: 'boolean', default: false } } });
      const manager = deps.networks(io);
      const status = await manager.show(oneName(positionals));
      const view = { ...statusView(status), files: networkStatePaths(manager.stateRoot, status.definition.name) };
      if (values.json) {
        json(io, view);
        return 0;
      }
      const rows: [string, string][] = [
        ['Name', view.name],
        ['State', view.state + (view.problems.length > 0 ? ` (${view.problems.join('; ')})` : '')],
        ['Mode', view.mode + (view.uplink ? ` via ${view.uplink}` : '')],
        ['Bridge', view.bridge],
        ['Address', view.ipv4],
        ['DHCP', view.dhcp ? `${view.dhcp.start} - ${view.dhcp.end}` : 'off'],
        ['DNS', view.dns ? 'on' : 'off'],
        ['Autostart', view.autostart ? 'yes' : 'no'],
        ['dnsmasq', view.dnsmasqPid ? `pid ${view.dnsmasqPid}` : 'not running'],
        ['VM NICs', view.attachedTaps.length > 0 ? view.attachedTaps.join(', ') : 'none'],
        ['Leases file', view.files.leaseFile],
      ];
      const width = Math.max(...rows.map(([k]) => k.length));
      io.stdout(`${rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n')}\n`);
      return 0;
    },
  };

  const create: CliCommand = {
    path: ['net', 'create'],
    summary: 'Define a virtual network (NAT, routed or isolated) with DHCP and DNS',
    usage:
      'virtdesk net create NAME [--mode nat|routed|isolated] [--ipv4 ADDRESS/PREFIX] [--dhcp START-END|none] [--no-dns] [--bridge NAME] [--uplink IFACE] [--autostart] [--start] [--json]',
    async run(args, io) {
      const { values, positionals } = parseArgs({
        args,
        strict: true,
        allowPositionals: true,
        options: {
          mode: { type: 'string' },
          ipv4: { type: 'string' },
          dhcp: { type: 'string' },
          'no-dns': { type: 'boolean', default: false },
          bridge: { type: 'string' },
          uplink: { type: 'string' },
          autostart: { type: 'boolean', default: false },
          start: { type: 'boolean', default: false },
          json: { type: 'boolean', default: false },
        },
      });
      const input: NetworkCreateInput = { name: oneName(positionals), dns: !values['no-dns'], autostart: values.autostart };
      if (values.mode !== undefined) {
        if (!(NETWORK_MODES as readonly string[]).includes(values.mode)) throw new UsageError(`--mode must be one of ${NETWORK_MODES.join(', ')}`);
        input.mode = values.mode as NetworkMode;
      }
      if (values.ipv4 !== undefined) input.ipv4 = values.ipv4;
      if (values.bridge !== undefined) input.bridge = values.bridge;
      if (values.uplink !== undefined) input.uplink = values.uplink;
      if (values.dhcp !== undefined) {
        if (values.dhcp === 'none') input.dhcp = 'none';
        else {
          const [start, end, ...extra] = values.dhcp.split('-');
          if (!start || !end || extra.length > 0) throw new UsageError('--dhcp takes START-END (e.g. 192.168.100.10-192.168.100.99) or none');
          input.dhcp = { start, end };
        }
      }
      const manager = deps.networks(io);
      const def = await manager.create(input);
      const status = values.start ? await manager.start(def.id) : await manager.statusOf(def);
      if (values.json) json(io, statusView(status));
      else io.stdout(`Created network ${def.name} (${def.mode}, ${def.ipv4} on ${def.bridge})${values.start ? `, ${status.state}` : ''}.\n`);
      return 0;
    },
  };

  const simple = (word: 'start' | 'stop' | 'delete', summary: string): CliCommand => ({
    path: ['net', word],
    summary,
    usage: `virtdesk net ${word} NAME${word === 'start' ? '' : ' [--force]'} [--json]`,
    async run(args, io) {
      const { values, positionals } = parseArgs({
        args,
        strict: true,
        allowPositionals: true,
        options: { json: { type: 'boolean', default: false }, ...(word === 'start' ? {} : { force: { type: 'boolean' as const, default: false } }) },
      });
      const name = oneName(positionals);
      const manager = deps.networks(io);
      const force = (values as { force?: boolean }).force ?? false;
      if (word === 'delete') {
        await manager.delete(name, { force });
        if (values.json) json(io, { deleted: name });
        else io.stdout(`Deleted network ${name}.\n`);
        return 0;
      }
      const status = word === 'start' ? await manager.start(name) : await manager.stop(name, { force });
      if (values.json) json(io, statusView(status));
      else io.stdout(`Network ${status.definition.name} is ${status.state}.\n`);
      return status.state === 'degraded' ? 1 : 0;
    },
  });

  const autostart: CliCommand = {
    path: ['net', 'autostart'],
    summary: 'Start a network whenever Virtdesk starts (--off to stop doing so)',
    usage: 'virtdesk net autostart NAME [--off]',
    async run(args, io) {
      const { values, positionals } = parseArgs({ args, strict: true, allowPositionals: true, options: { off: { type: 'boolean', default: false } } });
      const def = await deps.networks(io).setAutostart(oneName(positionals), !values.off);
      io.stdout(`Network ${def.name} ${def.autostart ? 'starts' : 'no longer starts'} automatically.\n`);
      return 0;
    },
  };

  const leases: CliCommand = {
    path: ['net', 'leases'],
    summary: "Show the DHCP leases (guests' addresses by MAC) of a network",
    usage: 'virtdesk net leases NAME [--json]',
    async run(args, io) {
      const { values, positionals } = parseArgs({ args, strict: true, allowPositionals: true, options: { json: { type: 'boolean', default: false } } });
      const found = await deps.networks(io).leases(oneName(positionals));
      if (values.json) {
        json(io, found);
        return 0;
      }
      const rows = [['MAC', 'IP ADDRESS', 'HOSTNAME', 'EXPIRES']];
      for (const l of found) rows.push([l.mac, l.ip, l.hostname ?? '-', l.expiresAt ?? 'never']);
      io.stdout(found.length === 0 ? 'No leases.\n' : table(rows));
      return 0;
    },
  };

  const hostBridgeList: CliCommand = {
    path: ['net', 'host-bridge', 'list'],
    summary: 'List the host bridges VMs can join with --net bridge:NAME',
    usage: 'virtdesk net host-bridge list [--json]',
    async run(args, io) {
      const { values } = parseArgs({ args, strict: true, options: { json: { type: 'boolean', default: false } } });
      const bridges = await listHostBridges(deps.networks(io).runner);
      if (values.json) {
        json(io, bridges);
        return 0;
      }
      const rows = [['NAME', 'PORTS', 'ADDRESSES', 'CREATED BY']];
      for (const b of bridges) rows.push([b.name, b.ports.join(',') || '-', b.addresses.join(',') || '-', b.createdBy.virtdesk ? `virtdesk (from ${b.createdBy.interface})` : 'host']);
      io.stdout(bridges.length === 0 ? 'No host bridges.\n' : table(rows));
      return 0;
    },
  };

  const hostBridgeCreate: CliCommand = {
    path: ['net', 'host-bridge', 'create'],
    summary: "Create a host bridge that takes over an Ethernet interface (the host's connection moves to it)",
    usage: 'virtdesk net host-bridge create BRIDGE --interface IFACE --yes [--json]',
    async run(args, io) {
      const { values, positionals } = parseArgs({
        args,
        strict: true,
        allowPositionals: true,
        options: { interface: { type: 'string' }, yes: { type: 'boolean', default: false }, json: { type: 'boolean', default: false } },
      });
      const bridge = oneName(positionals, 'BRIDGE');
      if (!values.interface) throw new UsageError('--interface IFACE is required');
      if (!values.yes) {
        io.stderr(`warning: ${hostBridgeWarning(values.interface, bridge)}\nRe-run with --yes to go ahead.\n`);
        return 1;
      }
      const manager = deps.networks(io);
      const result = await createHostBridge(bridge, values.interface, deps.privileged(io, manager));
      if (values.json) json(io, result);
      else {
        io.stderr(`warning: ${result.warning}\n`);
        io.stdout(`Created ${bridge} with ${values.interface}; moved ${result.movedAddresses.join(', ') || 'no addresses'}. Attach VMs with --net bridge:${bridge}.\n`);
      }
      return 0;
    },
  };

  const hostBridgeDelete: CliCommand = {
    path: ['net', 'host-bridge', 'delete'],
    summary: 'Delete a host bridge Virtdesk created, giving its interface the connection back',
    usage: 'virtdesk net host-bridge delete BRIDGE [--json]',
    async run(args, io) {
      const { values, positionals } = parseArgs({ args, strict: true, allowPositionals: true, options: { json: { type: 'boolean', default: false } } });
      const bridge = oneName(positionals, 'BRIDGE');
      const manager = deps.networks(io);
      const result = await deleteHostBridge(bridge, deps.privileged(io, manager));
      if (!result.deleted) throw new EngineError('not-found', `There is no bridge ${bridge}`);
      if (values.json) json(io, result);
      else io.stdout(`Deleted ${bridge}${result.restoredTo ? `; ${result.restoredTo} has its addresses back` : ''}.\n`);
      return 0;
    },
  };

  const portForward: CliCommand = {
    path: ['vm', 'port-forward'],
    summary: 'Add, remove or list host-to-guest port forwards of a VM on user-mode NAT',
    usage: 'virtdesk vm port-forward VM add|remove|list [tcp|udp:[HOSTADDR:]HOSTPORT:GUESTPORT] [--nic ID] [--json]',
    async run(args, io) {
      const { values, positionals } = parseArgs({
        args,
        strict: true,
        allowPositionals: true,
        options: { nic: { type: 'string' }, json: { type: 'boolean', default: false } },
      });
      const [vm, action, spec, ...extra] = positionals;
      if (!vm || !action) throw new UsageError('missing VM and action (add, remove or list)');
      if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);
      const ctx = deps.portForwards(io);
      const nicOption = values.nic === undefined ? {} : { nic: values.nic };
      switch (action) {
        case 'list': {
          if (spec !== undefined) throw new UsageError(`unexpected argument "${spec}"`);
          const listed = await listVmPortForwards(ctx, vm);
          if (values.json) {
            json(io, listed);
            return 0;
          }
          if (listed.forwards.length === 0) {
            io.stdout(`VM ${listed.vm.name} has no port forwards.\n`);
            return 0;
          }
          const rows = [['NIC', 'PROTOCOL', 'HOST', 'GUEST PORT', 'ACTIVE']];
          for (const f of listed.forwards) {
            rows.push([f.nic, f.forward.protocol, `${f.forward.hostAddress}:${f.forward.hostPort}`, String(f.forward.guestPort), f.active === null ? '(VM not running)' : f.active ? 'yes' : 'no']);
          }
          io.stdout(table(rows));
          return 0;
        }
        case 'add': {
          if (!spec) throw new UsageError('missing the forward, e.g. tcp:8080:80');
          const forward = parsePortForward(spec);
          const result = await addVmPortForward(ctx, vm, forward, nicOption);
          if (values.json) json(io, { ...result, forward });
          else io.stdout(`Added ${formatPortForward(forward)} on ${result.nic}${result.applied ? ' (active now)' : ' (active from the next start)'}.\n`);
          return 0;
        }
        case 'remove': {
          if (!spec) throw new UsageError('missing the forward, e.g. tcp:8080');
          const result = await removeVmPortForward(ctx, vm, parseForwardSelector(spec), nicOption);
          if (values.json) json(io, result);
          else io.stdout(`Removed ${formatPortForward(result.removed)} from ${result.nic}${result.applied ? ' (closed now)' : ''}.\n`);
          return 0;
        }
        default:
          throw new UsageError(`unknown action "${action}"; use add, remove or list`);
      }
    },
  };

  return [
    list,
    show,
    create,
    simple('start', 'Start a virtual network (bridge, DHCP/DNS, firewall rules)'),
    simple('stop', 'Stop a virtual network, removing its bridge, rules and dnsmasq'),
    simple('delete', 'Stop and delete a virtual network'),
    autostart,
    leases,
    hostBridgeList,
    hostBridgeCreate,
    hostBridgeDelete,
    portForward,
  ];
}

/** `virtdesk net …` and `virtdesk vm port-forward …`. */
export const netCommands: CliCommand[] = createNetCommands();
