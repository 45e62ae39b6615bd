// `virtdesk -c NAME|URI ...`: the commands that run on a libvirt connection instead of the
// embedded engine. Each opens the connection, does its calls, and closes it.
import { join } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { EngineError } from '../api/errors';
import type { LibvirtConnection } from '../libvirt/connection/libvirt-connection';
import { DOMAIN_STATS } from '../libvirt/connection/libvirt-connection';
import { openLibvirtConnection } from '../libvirt/connection/open-connection';
import { resolveConnection } from '../libvirt/connections/saved-connections';
import { stateName, type DomainRef } from '../libvirt/domains/domain-types';
import { runtimeRoot, virtdeskHome } from '../paths';
import type { CliCommand, CliIo } from './command';
import { printJson, table } from './output';
import { UsageError } from './run-cli';

type Options = NonNullable<ParseArgsConfig['options']>;

function parse(args: string[], options: Options, names: string[]) {
  const parsed = parseArgs({ args, strict: true, allowPositionals: true, options });
  if (parsed.positionals.length < names.length) throw new UsageError(`missing ${names.slice(parsed.positionals.length).join(' ')}`);
  if (parsed.positionals.length > names.length) throw new UsageError(`unexpected argument "${parsed.positionals[names.length]}"`);
  return { values: parsed.values as Record<string, string | boolean | undefined>, positionals: parsed.positionals };
}

async function withConnection<T>(connect: string, io: CliIo, use: (connection: LibvirtConnection) => Promise<T>): Promise<T> {
  const home = virtdeskHome(io.env);
  const saved = await resolveConnection(home, connect);
  const connection = await openLibvirtConnection(saved.uri, {
    sshControlDir: join(runtimeRoot(home, io.env), 'ssh'),
    ...(io.env.VIRTDESK_SSH_CONFIG ? { sshConfigFile: io.env.VIRTDESK_SSH_CONFIG } : {}),
    env: io.env,
  });
  try {
    return await use(connection);
  } finally {
    await connection.close();
  }
}

function domainCommand(connect: string, word: string, summary: string, act: (connection: LibvirtConnection, domain: DomainRef) => Promise<string>): CliCommand {
  return {
    path: ['vm', word],
    summary,
    usage: `virtdesk -c CONNECTION vm ${word} NAME`,
    async run(args, io) {
      const { positionals } = parse(args, {}, ['NAME']);
      const message = await withConnection(connect, io, async (connection) => act(connection, await connection.lookupDomain(positionals[0]!)));
      io.stdout(`${message}\n`);
      return 0;
    },
  };
}

export function libvirtCommands(connect: string): readonly CliCommand[] {
  const list: CliCommand = {
    path: ['vm', 'list'],
    summary: 'List the VMs of the connection with their states',
    usage: 'virtdesk -c CONNECTION vm list [--json]',
    async run(args, io) {
      const { values } = parse(args, { json: { type: 'boolean', default: false } }, []);
      // One call for every domain's state (virConnectGetAllDomainStats), not one per domain.
      const records = await withConnection(connect, io, (connection) => connection.allDomainStats(DOMAIN_STATS.STATE));
      const vms = records
        .map(({ domain, stats }) => ({ name: domain.name, uuid: domain.uuid, id: domain.id, state: stateName(Number(stats['state.state'] ?? 0)) }))
        .sort((a, b) => a.name.localeCompare(b.name));
      if (values.json) return printJson(io, vms);
      io.stdout(vms.length === 0 ? 'No VMs on this connection.\n' : table([['NAME', 'STATE', 'ID'], ...vms.map((vm) => [vm.name, vm.state, vm.id >= 0 ? String(vm.id) : '-'])]));
      return 0;
    },
  };

  const info: CliCommand = {
    path: ['vm', 'info'],
    summary: 'Show a VM of the connection: state, memory, vCPUs, CPU time',
    usage: 'virtdesk -c CONNECTION vm info NAME [--json] [--xml]',
    async run(args, io) {
      const { values, positionals } = parse(args, { json: { type: 'boolean', default: false }, xml: { type: 'boolean', default: false } }, ['NAME']);
      return withConnection(connect, io, async (connection) => {
        const domain = await connection.lookupDomain(positionals[0]!);
        if (values.xml) {
          io.stdout(await connection.domainXml(domain));
          return 0;
        }
        const [details, saved] = await Promise.all([connection.info(domain), connection.hasManagedSave(domain)]);
        const result = { ...domain, ...details, managedSave: saved };
        if (values.json) return printJson(io, result);
        io.stdout(table([
          ['Name:', domain.name], ['UUID:', domain.uuid], ['Id:', domain.id >= 0 ? String(domain.id) : '-'], ['State:', details.state],
          ['vCPUs:', String(details.vcpus)], ['Memory:', `${Math.round(details.memoryKiB / 1024)} MiB (max ${Math.round(details.maxMemoryKiB / 1024)} MiB)`],
          ['CPU time:', `${(details.cpuTimeNs / 1e9).toFixed(1)} s`], ['Saved state:', saved ? 'yes (the next start resumes it)' : 'no'],
        ]));
        return 0;
      });
    },
  };

  const stop: CliCommand = {
    path: ['vm', 'stop'],
    summary: 'Ask a VM of the connection to shut down (ACPI or guest agent); never forced unless --force',
    usage: 'virtdesk -c CONNECTION vm stop NAME [--force] [--wait SEC]',
    async run(args, io) {
      const { values, positionals } = parse(args, { force: { type: 'boolean', default: false }, wait: { type: 'string' } }, ['NAME']);
      const waitText = values.wait as string | undefined;
      const waitSeconds = waitText === undefined ? 0 : Number(waitText);
      if (!Number.isFinite(waitSeconds) || waitSeconds < 0) throw new UsageError(`--wait must be a number of seconds, not "${waitText}"`);
      const message = await withConnection(connect, io, async (connection) => {
        const domain = await connection.lookupDomain(positionals[0]!);
        if (values.force) {
          await connection.destroy(domain);
          return `VM "${domain.name}" was forced off.`;
        }
        await connection.shutdown(domain);
        if (waitSeconds === 0) return `Asked the guest of "${domain.name}" to shut down.`;
        const deadline = Date.now() + waitSeconds * 1000;
        while (Date.now() < deadline) {
          if ((await connection.state(domain)).state === 'shutoff') return `VM "${domain.name}" shut down.`;
          await new Promise((resolve) => setTimeout(resolve, 250));
        }
        throw new EngineError('timeout', `The guest of "${domain.name}" did not shut down within ${waitSeconds} s; it still runs.`, {
          hint: `Wait longer, or force it off: virtdesk -c ${connect} vm force-off ${domain.name}`,
        });
      });
      io.stdout(`${message}\n`);
      return 0;
    },
  };

  const forceOff = (word: string) => domainCommand(connect, word, 'Force a VM of the connection off at once (like pulling the plug)', async (connection, domain) => {
    await connection.destroy(domain);
    return `VM "${domain.name}" was forced off.`;
  });

  const hostInfo: CliCommand = {
    path: ['host', 'info'],
    summary: 'Show the host of the connection: name, libvirt and hypervisor versions, CPUs, memory',
    usage: 'virtdesk -c CONNECTION host info [--json]',
    async run(args, io) {
      const { values } = parse(args, { json: { type: 'boolean', default: false } }, []);
      const result = await withConnection(connect, io, async (connection) => {
        const [hostname, versions, node] = await Promise.all([connection.hostname(), connection.versions(), connection.nodeInfo()]);
        return { uri: connection.uri.uri, hostname, libvirtVersion: versions.libvirt, hypervisorVersion: versions.hypervisor, ...node };
      });
      if (values.json) return printJson(io, result);
      io.stdout(table([
        ['Connection:', result.uri], ['Host name:', result.hostname], ['libvirt:', result.libvirtVersion], ['Hypervisor:', result.hypervisorVersion],
        ['CPUs:', `${result.cpus} (${result.cpuModel}, ${result.mhz} MHz)`], ['Memory:', `${Math.round(result.memoryKiB / 1024)} MiB`],
      ]));
      return 0;
    },
  };

  return [
    list,
    info,
    { ...info, path: ['vm', 'show'] },
    domainCommand(connect, 'start', 'Start a VM of the connection', async (connection, domain) => {
      const started = await connection.start(domain);
      return `Started VM "${started.name}" (id ${started.id}).`;
    }),
    stop,
    forceOff('force-off'),
    forceOff('destroy'),
    domainCommand(connect, 'reboot', 'Reboot a VM of the connection (ACPI or guest agent)', async (connection, domain) => {
      await connection.reboot(domain);
      return `Asked the guest of "${domain.name}" to reboot.`;
    }),
    domainCommand(connect, 'pause', "Pause a VM's vCPUs", async (connection, domain) => {
      await connection.suspend(domain);
      return `VM "${domain.name}" paused.`;
    }),
    domainCommand(connect, 'resume', 'Resume a paused VM', async (connection, domain) => {
      await connection.resume(domain);
      return `VM "${domain.name}" resumed.`;
    }),
    domainCommand(connect, 'save', "Save a running VM's memory on its host and stop it (managed save; the next start resumes)", async (connection, domain) => {
      await connection.managedSave(domain);
      return `VM "${domain.name}" was saved and stopped; the next start resumes it.`;
    }),
    hostInfo,
  ];
}
