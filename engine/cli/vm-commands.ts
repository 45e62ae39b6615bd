import { readFile, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { EngineError } from '../api/errors';
import type { NewDiskInput, VmCreateInput, VmDefinition } from '../model';
import { parsePortForward } from '../model/net/port-forward-spec';
import { virtdeskHome } from '../paths';
import { parseSize } from '../storage/size';
import { pauseVm, rebootVm, resetVm, resumeVm, screenshotVm, sendKeysVm, stopVm } from '../vm/ops/control';
import { VmRegistry } from '../vm/definitions/registry';
import { connectSerialConsole } from '../vm/supervision/serial-mux/serial-console';
import { claimSpeculativeLaunch } from '../vm/ops/fast-start/speculative-launch';
import { startVm } from '../vm/ops/start';
import { assertOperationAllowed, describeExitReason } from '../vm/states';
import type { VmStatus } from '../vm/runtime/probe';
import type { CliCommand, CliIo } from './command';
import { UsageError } from './run-cli';

type Options = NonNullable<ParseArgsConfig['options']>;
type Values = Record<string, string | boolean | (string | boolean)[] | undefined>;

function parse(args: string[], options: Options, positionals: { count: number; names: string }) {
  const parsed = parseArgs({ args, strict: true, allowPositionals: true, options });
  if (parsed.positionals.length < positionals.count) throw new UsageError(`missing ${positionals.names}`);
  if (parsed.positionals.length > positionals.count) throw new UsageError(`unexpected argument "${parsed.positionals[positionals.count]}"`);
  return { values: parsed.values as Values, positionals: parsed.positionals };
}

function str(values: Values, key: string): string | undefined {
  const value = values[key];
  return typeof value === 'string' ? value : undefined;
}

function strings(values: Values, key: string): string[] {
  const value = values[key];
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : typeof value === 'string' ? [value] : [];
}

function registry(io: CliIo): VmRegistry {
  return new VmRegistry(virtdeskHome(io.env), io.env, { notify: (line) => io.stderr(`virtdesk: ${line}\n`) });
}

function context(io: CliIo) {
  return { home: virtdeskHome(io.env), env: io.env };
}

function printJson(io: CliIo, value: unknown): number {
  io.stdout(`${JSON.stringify(value, null, 2)}\n`);
  return 0;
}

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return `${rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ')).join('\n')}\n`;
}

function wholeNumber(text: string, what: string, hint: string): number {
  if (!/^-?\d+$/.test(text.trim())) throw new EngineError('invalid-argument', `${what} must be a whole number, not "${text}".`, { hint });
  return Number(text);
}

/** `--disk` takes an image path or, when it reads as a size and names no file, the size of a new image. */
async function diskArgument(value: string): Promise<NewDiskInput> {
  const looksLikeSize = /^\d+(\.\d+)?\s*[kKmMgGtTpP]?(i?[bB])?$/.test(value.trim());
  if (looksLikeSize) {
    const exists = await stat(value).then(
      () => true,
      () => false,
    );
    if (!exists) return { create: { sizeBytes: parseSize(value) } };
  }
  return { source: resolve(value) };
}

function stateText(status: VmStatus): string {
  const reason = status.exitReason ? ` (${describeExitReason(status.exitReason)})` : '';
  return status.state === 'stopped' || status.state === 'crashed' ? `${status.state}${reason}` : status.state;
}

async function resolveAll(io: CliIo, ref: string): Promise<{ reg: VmRegistry; def: VmDefinition }> {
  const reg = registry(io);
  return { reg, def: await reg.resolve(ref) };
}

const create: CliCommand = {
  path: ['vm', 'create'],
  summary: 'Define a new VM',
  usage:
    'virtdesk vm create NAME [--memory MIB] [--cpus N] [--disk PATH|SIZE]... [--cdrom ISO] [--kernel PATH [--initrd PATH] [--append ARGS]] [--net user|none] [--port-forward tcp:HOSTPORT:GUESTPORT]... [--accel auto|kvm|tcg] [--tag TAG]... [--json]',
  async run(args, io) {
    const { values, positionals } = parse(
      args,
      {
        memory: { type: 'string' },
        cpus: { type: 'string' },
        disk: { type: 'string', multiple: true },
        cdrom: { type: 'string' },
        kernel: { type: 'string' },
        initrd: { type: 'string' },
        append: { type: 'string' },
        net: { type: 'string' },
        'port-forward': { type: 'string', multiple: true },
        accel: { type: 'string' },
        tag: { type: 'string', multiple: true },
        json: { type: 'boolean', default: false },
      },
      { count: 1, names: 'NAME' },
    );
    const name = positionals[0]!;
    const kernel = str(values, 'kernel');
    if (!kernel && (str(values, 'initrd') !== undefined || str(values, 'append') !== undefined)) {
      throw new UsageError('--initrd and --append need --kernel');
    }
    const net = str(values, 'net') ?? 'user';
    if (net !== 'user' && net !== 'none') throw new UsageError(`--net must be user or none, not "${net}"`);
    const forwards = strings(values, 'port-forward').map(parsePortForward);
    if (net === 'none' && forwards.length > 0) throw new UsageError('--port-forward needs --net user');
    const accel = str(values, 'accel');
    if (accel !== undefined && accel !== 'auto' && accel !== 'kvm' && accel !== 'tcg') throw new UsageError(`--accel must be auto, kvm or tcg, not "${accel}"`);

    const input: VmCreateInput = { name };
    const memory = str(values, 'memory');
    if (memory !== undefined) input.memory = { maximumMiB: wholeNumber(memory, 'Memory', 'Give it in MiB, e.g. --memory 2048 for 2 GiB.') };
    const cpus = str(values, 'cpus');
    if (cpus !== undefined) input.cpu = { vcpus: wholeNumber(cpus, 'The number of vCPUs', 'E.g. --cpus 2.') };
    if (accel !== undefined) input.accelerator = accel;
    const tags = strings(values, 'tag');
    if (tags.length > 0) input.tags = tags;
    const disks = await Promise.all(strings(values, 'disk').map(diskArgument));
    if (disks.length > 0) input.disks = disks;
    const cdrom = str(values, 'cdrom');
    if (cdrom !== undefined) input.cdroms = [{ media: resolve(cdrom) }];
    if (kernel) {
      const initrd = str(values, 'initrd');
      input.directKernel = { kernel: resolve(kernel), initrd: initrd === undefined ? null : resolve(initrd), cmdline: str(values, 'append') ?? '' };
    }
    input.nics = net === 'none' ? [] : [{ network: { kind: 'user', portForwards: forwards } }];

    const def = await registry(io).create(input);
    if (values.json) return printJson(io, def);
    io.stdout(`Created VM "${def.name}" (${def.id}): ${def.cpu.vcpus} vCPU, ${def.memory.maximumMiB} MiB, ${def.disks.length} disk(s), ${def.nics.length} NIC(s).\n`);
    def.disks.forEach((disk, index) => {
      if (disks[index]?.create) io.stdout(`  new disk ${disk.source}\n`);
    });
    return 0;
  },
};

const list: CliCommand = {
  path: ['vm', 'list'],
  summary: 'List VMs and their state',
  usage: 'virtdesk vm list [--json]',
  async run(args, io) {
    const { values } = parse(args, { json: { type: 'boolean', default: false } }, { count: 0, names: '' });
    const reg = registry(io);
    await reg.recoverInterruptedClones();
    const { items, problems } = await reg.store.list();
    const statuses = await Promise.all(items.map((def) => reg.status(def)));
    if (values.json) {
      return printJson(
        io,
        items.map((def, i) => {
          const status = statuses[i]!;
          return {
            id: def.id,
            name: def.name,
            state: status.state,
            stateReason: status.exitReason ? describeExitReason(status.exitReason) : null,
            pid: status.pid ?? null,
            vcpus: def.cpu.vcpus,
            memoryMiB: def.memory.maximumMiB,
            tags: def.tags,
          };
        }),
      );
    }
    for (const problem of problems) io.stderr(`virtdesk: ${problem.message}\n`);
    if (items.length === 0) {
      io.stdout('No VMs. Create one with `virtdesk vm create NAME`.\n');
      return 0;
    }
    const rows = [['NAME', 'STATE', 'VCPUS', 'MEMORY', 'TAGS', 'ID']];
    items.forEach((def, i) => rows.push([def.name, stateText(statuses[i]!), String(def.cpu.vcpus), `${def.memory.maximumMiB} MiB`, def.tags.join(', ') || '-', def.id]));
    io.stdout(table(rows));
    return 0;
  },
};

const show: CliCommand = {
  path: ['vm', 'show'],
  summary: "Show a VM's definition and state",
  usage: 'virtdesk vm show NAME [--json]',
  async run(args, io) {
    const { values, positionals } = parse(args, { json: { type: 'boolean', default: false } }, { count: 1, names: 'NAME' });
    const { reg, def } = await resolveAll(io, positionals[0]!);
    const status = await reg.status(def);
    const paths = reg.paths(def);
    if (values.json) {
      return printJson(io, {
        definition: def,
        runtime: {
          state: status.state,
          stateReason: status.exitReason ? describeExitReason(status.exitReason) : null,
          exitReason: status.exitReason ?? null,
          pid: status.pid ?? null,
          startedAt: status.runtime?.startedAt ?? null,
          accelerator: status.runtime?.accelerator ?? null,
          cpuModel: status.runtime?.cpuModel ?? null,
          serialLog: paths.serialLog,
          vncSocket: status.pid === undefined ? null : paths.vncSocket,
        },
      });
    }
    const rows: [string, string][] = [
      ['Name', def.name],
      ['Id', def.id],
      ['State', stateText(status)],
    ];
    if (status.pid !== undefined) rows.push(['QEMU pid', String(status.pid)]);
    if (status.runtime) {
      rows.push(['Accelerator', status.runtime.acceleratorReason]);
      rows.push(['CPU model', status.runtime.cpuModelReason]);
      rows.push(['Started', status.runtime.startedAt]);
    }
    rows.push(['vCPUs', `${def.cpu.vcpus} (${def.cpu.sockets} socket × ${def.cpu.cores} core × ${def.cpu.threads} thread, model ${def.cpu.model})`]);
    rows.push(['Memory', `${def.memory.maximumMiB} MiB`]);
    rows.push(['Machine', `${def.machine}, ${def.firmware.type}, accelerator ${def.accelerator}`]);
    for (const disk of def.disks) rows.push([`Disk ${disk.id}`, `${disk.source} (${disk.format}, ${disk.bus}${disk.readOnly ? ', read-only' : ''})`]);
    for (const cdrom of def.cdroms) rows.push([`CD-ROM ${cdrom.id}`, cdrom.media ?? 'empty']);
    if (def.directKernel) rows.push(['Kernel', `${def.directKernel.kernel}${def.directKernel.initrd ? ` + ${def.directKernel.initrd}` : ''} "${def.directKernel.cmdline}"`]);
    for (const nic of def.nics) {
      const forwards = nic.network.kind === 'user' ? nic.network.portForwards.map((f) => ` ${f.protocol}:${f.hostAddress}:${f.hostPort}->${f.guestPort}`).join(',') : '';
      rows.push([`NIC ${nic.id}`, `${nic.model} ${nic.mac} on ${nic.network.kind}${'name' in nic.network ? ` ${nic.network.name}` : ''}${forwards}`]);
    }
    rows.push(['Serial log', paths.serialLog]);
    const width = Math.max(...rows.map(([label]) => label.length));
    io.stdout(`${rows.map(([label, value]) => `${label.padEnd(width)}  ${value}`).join('\n')}\n`);
    return 0;
  },
};

const start: CliCommand = {
  path: ['vm', 'start'],
  summary: 'Start a VM',
  usage: 'virtdesk vm start NAME [--discard-saved] [--json]',
  async run(args, io) {
    const { values, positionals } = parse(args, { json: { type: 'boolean', default: false }, 'discard-saved': { type: 'boolean', default: false } }, { count: 1, names: 'NAME' });
    const reg = registry(io);
    // One read of the library serves both the lookup and the clash checks (start latency matters).
    const all = await reg.definitions();
    const ref = positionals[0]!;
    const matches = all.filter((candidate) => candidate.id === ref || candidate.name === ref);
    const def = matches.length === 1 ? matches[0]! : await reg.resolve(ref);
    const speculative = claimSpeculativeLaunch(def.id);
    const result = await startVm(def, { ...context(io), others: all, ...(values['discard-saved'] ? { discardSaved: true } : {}), ...(speculative ? { speculative } : {}) });
    if (values.json) return printJson(io, { id: def.id, name: def.name, resumed: result.resumed ?? null, ...result.runtime });
    const how = result.resumed ? `Resumed VM "${def.name}" from its saved state` : `Started VM "${def.name}"`;
    io.stdout(`${how} (QEMU pid ${result.pid}; ${result.plan.accel.reason}; ${result.plan.cpuModel.reason}).\n`);
    return 0;
  },
};

/** How long `vm stop` waits for the guest by default; it is never forced for this. */
const DEFAULT_STOP_WAIT_SECONDS = 120;

function seconds(values: Values, option: string): number | undefined {
  const text = str(values, option);
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) throw new UsageError(`--${option} must be a positive number of seconds, not "${text}"`);
  return value;
}

const stop: CliCommand = {
  path: ['vm', 'stop'],
  summary: 'Shut a VM down through ACPI; never forced unless asked',
  usage: [
    'virtdesk vm stop NAME [--wait SECONDS] [--force-after SECONDS] [--force]',
    '  --wait SECONDS         how long to wait for the guest to power off (default 120); a guest still',
    '                         running then is left running, and the command exits 1 without forcing it',
    '  --force-after SECONDS  force the VM off if the guest has not powered off after SECONDS',
    '                         (--timeout SECONDS is the old name of this option)',
    '  --force                force the VM off at once, without asking the guest (unsaved work is lost)',
  ].join('\n'),
  async run(args, io) {
    const { values, positionals } = parse(
      args,
      { force: { type: 'boolean', default: false }, wait: { type: 'string' }, 'force-after': { type: 'string' }, timeout: { type: 'string' } },
      { count: 1, names: 'NAME' },
    );
    const wait = seconds(values, 'wait') ?? DEFAULT_STOP_WAIT_SECONDS;
    const forceAfter = seconds(values, 'force-after') ?? seconds(values, 'timeout');
    const { def } = await resolveAll(io, positionals[0]!);
    if (!values.force) {
      io.stderr(
        forceAfter === undefined
          ? `Asking the guest of "${def.name}" to shut down (waiting up to ${wait} s; it is not forced)...\n`
          : `Asking the guest of "${def.name}" to shut down (forced off after ${forceAfter} s)...\n`,
      );
    }
    const result = await stopVm(def, context(io), { force: values.force === true, waitMs: wait * 1000, ...(forceAfter === undefined ? {} : { forceAfterMs: forceAfter * 1000 }) });
    if (!result.stopped) {
      io.stderr(
        `VM "${def.name}" is still running: its guest did not power off within ${wait} s of the shutdown request, and it was not forced off.\n` +
          `It may still be shutting down (installing updates, say): wait with \`virtdesk vm stop ${def.name} --wait SECONDS\`, ` +
          `or force it off with \`virtdesk vm stop ${def.name} --force\` (unsaved work in the guest is lost).\n`,
      );
      return 1;
    }
    io.stdout(result.forced ? `VM "${def.name}" was forced off.\n` : `VM "${def.name}" shut down.\n`);
    return 0;
  },
};

function simple(word: string, summary: string, run: (def: VmDefinition, io: CliIo) => Promise<string>): CliCommand {
  return {
    path: ['vm', word],
    summary,
    usage: `virtdesk vm ${word} NAME`,
    async run(args, io) {
      const { positionals } = parse(args, {}, { count: 1, names: 'NAME' });
      const { def } = await resolveAll(io, positionals[0]!);
      io.stdout(`${await run(def, io)}\n`);
      return 0;
    },
  };
}

const reboot = simple('reboot', 'Reboot a VM through ACPI (clean guest restart)', async (def, io) => {
  await rebootVm(def, context(io));
  return `VM "${def.name}" rebooted.`;
});
const reset = simple('reset', 'Reset a VM at once, like its reset button', async (def, io) => {
  await resetVm(def, context(io));
  return `VM "${def.name}" was reset.`;
});
const pause = simple('pause', "Pause a VM's vCPUs", async (def, io) => {
  await pauseVm(def, context(io));
  return `VM "${def.name}" paused.`;
});
const resume = simple('resume', 'Resume a paused VM', async (def, io) => {
  await resumeVm(def, context(io));
  return `VM "${def.name}" resumed.`;
});

const screenshot: CliCommand = {
  path: ['vm', 'screenshot'],
  summary: "Save a VM's screen as PNG",
  usage: 'virtdesk vm screenshot NAME OUT.png',
  async run(args, io) {
    const { positionals } = parse(args, {}, { count: 2, names: 'NAME and OUT.png' });
    const { def } = await resolveAll(io, positionals[0]!);
    const out = resolve(positionals[1]!);
    await screenshotVm(def, context(io), out);
    io.stdout(`Saved the screen of "${def.name}" to ${out}.\n`);
    return 0;
  },
};

const sendKeys: CliCommand = {
  path: ['vm', 'send-keys'],
  summary: 'Press keys together in a VM (QEMU key names joined by "-", e.g. ctrl-alt-delete)',
  usage: 'virtdesk vm send-keys NAME KEYS',
  async run(args, io) {
    const { positionals } = parse(args, {}, { count: 2, names: 'NAME and KEYS' });
    const { def } = await resolveAll(io, positionals[0]!);
    const keys = positionals[1]!.split('-').filter(Boolean);
    if (keys.some((key) => !/^[a-z0-9_]+$/.test(key))) throw new UsageError(`"${positionals[1]}" is not a list of QEMU key names such as ctrl-alt-delete`);
    await sendKeysVm(def, context(io), keys);
    io.stdout(`Sent ${keys.join('+')} to "${def.name}".\n`);
    return 0;
  },
};

const log: CliCommand = {
  path: ['vm', 'log'],
  summary: "Print a VM's serial console log",
  usage: 'virtdesk vm log NAME',
  async run(args, io) {
    const { positionals } = parse(args, {}, { count: 1, names: 'NAME' });
    const { reg, def } = await resolveAll(io, positionals[0]!);
    const path = reg.paths(def).serialLog;
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch {
      io.stderr(`VM "${def.name}" has no serial log yet (${path}).\n`);
      return 0;
    }
    io.stdout(text);
    return 0;
  },
};

const remove: CliCommand = {
  path: ['vm', 'delete'],
  summary: 'Delete a stopped VM (and with --with-storage its disk images)',
  usage: 'virtdesk vm delete NAME [--with-storage]',
  async run(args, io) {
    const { values, positionals } = parse(args, { 'with-storage': { type: 'boolean', default: false } }, { count: 1, names: 'NAME' });
    const reg = registry(io);
    const def = await reg.resolve(positionals[0]!);
    const outcome = await reg.delete(def.id, { withStorage: values['with-storage'] === true });
    io.stdout(`Deleted VM "${def.name}".\n`);
    for (const file of outcome.deletedFiles) io.stdout(`  removed ${file}\n`);
    for (const kept of outcome.keptFiles) io.stdout(`  kept ${kept.path}: ${kept.why}\n`);
    return 0;
  },
};

export interface ConsoleDeps {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?: (raw: boolean) => unknown };
  /** Raw bytes to the terminal (serial output is not always UTF-8). */
  writeOut?: (bytes: Buffer) => void;
}

const DETACH_BYTE = 0x1d; // Ctrl-]

function consoleCommand(deps: () => ConsoleDeps): CliCommand {
  return {
    path: ['vm', 'console'],
    summary: "Attach to a VM's serial console (Ctrl-] detaches)",
    usage: 'virtdesk vm console NAME',
    async run(args, io) {
      const { positionals } = parse(args, {}, { count: 1, names: 'NAME' });
      const { reg, def } = await resolveAll(io, positionals[0]!);
      if (!def.serial) throw new EngineError('invalid-state', `VM "${def.name}" has no serial console.`);
      const status = await reg.status(def);
      assertOperationAllowed('console', status.state, def.name);
      const { stdin, writeOut } = deps();
      const decoder = new StringDecoder('utf8');
      const out = writeOut ?? ((bytes: Buffer) => io.stdout(decoder.write(bytes)));
      let connected: Awaited<ReturnType<typeof connectSerialConsole>>;
      try {
        connected = await connectSerialConsole(reg.paths(def));
      } catch (error) {
        throw new EngineError('unavailable', `Cannot attach to the serial console of "${def.name}": ${(error as Error).message}`);
      }
      const { socket, shared } = connected;
      const raw = stdin.isTTY === true && typeof stdin.setRawMode === 'function';
      io.stderr(
        shared
          ? `Connected to the serial console of "${def.name}" through its supervisor (shared: other viewers may be attached too). Press Ctrl-] to detach.\n`
          : `Connected to the serial console of "${def.name}" directly (no Virtdesk app or serve is watching this VM, so this console is exclusive: other viewers wait until you detach). Press Ctrl-] to detach.\n`,
      );
      return new Promise<number>((resolvePromise, reject) => {
        let done = false;
        const finish = (code: number, message?: string) => {
          if (done) return;
          done = true;
          stdin.off('data', onInput);
          if (raw) stdin.setRawMode?.(false);
          stdin.pause();
          socket.destroy();
          if (message) io.stderr(`\n${message}\n`);
          resolvePromise(code);
        };
        const onInput = (chunk: Buffer | string) => {
          const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
          const at = bytes.indexOf(DETACH_BYTE);
          if (at >= 0) {
            if (at > 0) socket.write(bytes.subarray(0, at));
            finish(0, 'Detached.');
            return;
          }
          socket.write(bytes);
        };
        if (raw) stdin.setRawMode?.(true);
        stdin.on('data', onInput);
        stdin.resume();
        socket.on('data', (bytes) => out(bytes));
        socket.on('close', () => finish(0, shared ? 'The console closed (the VM stopped, or its supervisor went away).' : 'The console closed (the VM stopped).'));
        socket.on('error', (error) => {
          if (done) return;
          done = true;
          reject(new EngineError('unavailable', `Cannot attach to the serial console of "${def.name}": ${error.message}`));
        });
      });
    },
  };
}

/** The `virtdesk vm …` commands; `consoleDeps` lets tests feed the console's input. */
export function createVmCommands(consoleDeps: () => ConsoleDeps = () => ({ stdin: process.stdin, writeOut: (bytes) => process.stdout.write(bytes) })): CliCommand[] {
  return [create, list, show, start, stop, reboot, reset, pause, resume, screenshot, sendKeys, consoleCommand(consoleDeps), log, remove];
}

export const vmCommands: CliCommand[] = createVmCommands();
