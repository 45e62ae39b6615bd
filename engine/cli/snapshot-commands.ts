import { parseArgs, type ParseArgsConfig } from 'node:util';
import { EngineError } from '../api/errors';
import type { VmDefinition } from '../model';
import { virtdeskHome } from '../paths';
import { cloneVm } from '../vm/ops/clone/clone-vm';
import { markTemplate, unmarkTemplate, isTemplate } from '../vm/ops/clone/template';
import { VmRegistry } from '../vm/definitions/registry';
import { saveVm } from '../vm/ops/save-restore/save';
import { discardSavedState, readSavedState } from '../vm/ops/save-restore/saved-state';
import { createSnapshot, deleteSnapshot, directLifecycle, listSnapshots, revertSnapshot, type SnapshotInfo, type SnapshotKind } from '../vm/ops/snapshots';
import { startVm } from '../vm/ops/start';
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

function context(io: CliIo) {
  return { home: virtdeskHome(io.env), env: io.env };
}

function registry(io: CliIo): VmRegistry {
  return new VmRegistry(virtdeskHome(io.env), io.env, { notify: (line) => io.stderr(`virtdesk: ${line}\n`) });
}

function printJson(io: CliIo, value: unknown): number {
  io.stdout(`${JSON.stringify(value, null, 2)}\n`);
  return 0;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

function mib(bytes: number): string {
  return `${Math.round(bytes / (1024 * 1024))} MiB`;
}

/** Ctrl-C cancels the operation cleanly (the guest keeps running) instead of killing the CLI mid-way. */
async function cancellableOnInterrupt<T>(io: CliIo, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const onInterrupt = () => {
    io.stderr('Cancelling...\n');
    controller.abort();
  };
  process.once('SIGINT', onInterrupt);
  try {
    return await fn(controller.signal);
  } finally {
    process.off('SIGINT', onInterrupt);
  }
}

/** Snapshots in tree order (children under their parent), with their depth. */
export function snapshotTree(snapshots: readonly SnapshotInfo[]): { snapshot: SnapshotInfo; depth: number }[] {
  const ids = new Set(snapshots.map((s) => s.id));
  const children = (parent: string | null) => snapshots.filter((s) => (s.parentId !== null && ids.has(s.parentId) ? s.parentId : null) === parent);
  const out: { snapshot: SnapshotInfo; depth: number }[] = [];
  const walk = (parent: string | null, depth: number) => {
    for (const snapshot of children(parent)) {
      out.push({ snapshot, depth });
      walk(snapshot.id, depth + 1);
    }
  };
  walk(null, 0);
  return out;
}

const snapshotCreate: CliCommand = {
  path: ['snapshot', 'create'],
  summary: 'Take a snapshot of a VM (with memory when it runs, else of its disks)',
  usage: 'virtdesk snapshot create VM NAME [--description TEXT] [--memory | --disk-only] [--json]',
  async run(args, io) {
    const { values, positionals } = parse(
      args,
      { description: { type: 'string' }, memory: { type: 'boolean', default: false }, 'disk-only': { type: 'boolean', default: false }, json: { type: 'boolean', default: false } },
      { count: 2, names: 'VM and NAME' },
    );
    if (values.memory && values['disk-only']) throw new UsageError('--memory and --disk-only exclude each other');
    const kind: SnapshotKind | undefined = values.memory ? 'with-memory' : values['disk-only'] ? 'disk-only' : undefined;
    const def = await registry(io).resolve(positionals[0]!);
    const started = Date.now();
    const snapshot = await cancellableOnInterrupt(io, (signal) =>
      createSnapshot(context(io), def, {
        name: positionals[1]!,
        ...(typeof values.description === 'string' ? { description: values.description } : {}),
        ...(kind ? { kind } : {}),
        signal,
      }),
    );
    if (values.json) return printJson(io, snapshot);
    io.stdout(`Took snapshot "${snapshot.name}" of VM "${def.name}" (${snapshot.kind === 'with-memory' ? `with memory, the guest ${snapshot.vmState}` : 'disks only'}, ${seconds(Date.now() - started)}).\n`);
    for (const skipped of snapshot.skipped) io.stdout(`  not included: disk ${skipped.id} (${skipped.source}): ${skipped.why}\n`);
    return 0;
  },
};

const snapshotList: CliCommand = {
  path: ['snapshot', 'list'],
  summary: "List a VM's snapshots as a tree (* marks the one the VM's state descends from)",
  usage: 'virtdesk snapshot list VM [--json]',
  async run(args, io) {
    const { values, positionals } = parse(args, { json: { type: 'boolean', default: false } }, { count: 1, names: 'VM' });
    const def = await registry(io).resolve(positionals[0]!);
    const { snapshots, problems } = await listSnapshots(context(io), def);
    if (values.json) return printJson(io, snapshots);
    for (const problem of problems) io.stderr(`virtdesk: ${problem}\n`);
    if (snapshots.length === 0) {
      io.stdout(`VM "${def.name}" has no snapshots. Take one with \`virtdesk snapshot create ${def.name} NAME\`.\n`);
      return 0;
    }
    const rows = snapshotTree(snapshots).map(({ snapshot, depth }) => [
      `${snapshot.current ? '*' : ' '} ${'  '.repeat(depth)}${snapshot.name}`,
      snapshot.kind,
      snapshot.vmState,
      snapshot.createdAt,
      snapshot.description,
    ]);
    const all = [['  NAME', 'KIND', 'VM WAS', 'TAKEN', 'DESCRIPTION'], ...rows];
    const widths = all[0]!.map((_, i) => Math.max(...all.map((row) => (row[i] ?? '').length)));
    io.stdout(`${all.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ').trimEnd()).join('\n')}\n`);
    return 0;
  },
};

const snapshotRevert: CliCommand = {
  path: ['snapshot', 'revert'],
  summary: 'Revert a VM to a snapshot (throws its current state away: needs --yes)',
  usage: 'virtdesk snapshot revert VM NAME --yes [--start]',
  async run(args, io) {
    const { values, positionals } = parse(args, { yes: { type: 'boolean', default: false }, start: { type: 'boolean', default: false } }, { count: 2, names: 'VM and NAME' });
    const ctx = context(io);
    const def = await registry(io).resolve(positionals[0]!);
    const started = Date.now();
    const result = await revertSnapshot(ctx, def, positionals[1]!, { discardCurrentState: values.yes === true, start: values.start === true }, directLifecycle(ctx));
    const took = seconds(Date.now() - started);
    const what = `Reverted VM "${def.name}" to snapshot "${result.snapshot.name}" (${took})`;
    if (result.mode === 'stopped') io.stdout(`${what}; it is stopped. Start it with \`virtdesk vm start ${def.name}\`.\n`);
    else io.stdout(`${what}; the guest is ${result.snapshot.kind === 'with-memory' ? result.snapshot.vmState : 'booting'}${result.mode === 'in-place' ? ' (same QEMU, consoles stay connected)' : ''}.\n`);
    return 0;
  },
};

const snapshotDelete: CliCommand = {
  path: ['snapshot', 'delete'],
  summary: 'Delete a snapshot (its children move up to its parent)',
  usage: 'virtdesk snapshot delete VM NAME',
  async run(args, io) {
    const { positionals } = parse(args, {}, { count: 2, names: 'VM and NAME' });
    const def = await registry(io).resolve(positionals[0]!);
    const result = await deleteSnapshot(context(io), def, positionals[1]!);
    io.stdout(`Deleted snapshot "${result.deleted.name}" of VM "${def.name}".\n`);
    for (const note of result.notes) io.stderr(`  note: ${note}\n`);
    return 0;
  },
};

const clone: CliCommand = {
  path: ['vm', 'clone'],
  summary: 'Clone a VM: new name, UUID and MACs; a full copy, or --linked on a template',
  usage: 'virtdesk vm clone SOURCE NEW-NAME [--linked] [--json]',
  async run(args, io) {
    const { values, positionals } = parse(args, { linked: { type: 'boolean', default: false }, json: { type: 'boolean', default: false } }, { count: 2, names: 'SOURCE and NEW-NAME' });
    const started = Date.now();
    const result = await cancellableOnInterrupt(io, (signal) => cloneVm(registry(io), positionals[0]!, positionals[1]!, { linked: values.linked === true, signal }));
    if (values.json) return printJson(io, result);
    io.stdout(`Cloned "${positionals[0]}" to "${result.definition.name}" (${result.definition.id}, ${values.linked ? 'linked' : 'full copy'}, ${seconds(Date.now() - started)}).\n`);
    for (const file of result.files) io.stdout(`  new disk ${file}\n`);
    for (const nic of result.definition.nics) io.stdout(`  NIC ${nic.id} ${nic.mac}\n`);
    for (const warning of result.warnings) io.stderr(`  warning: ${warning}\n`);
    return 0;
  },
};

const save: CliCommand = {
  path: ['vm', 'save'],
  summary: "Save a running VM's state to a file and stop it (its next start resumes it)",
  usage: 'virtdesk vm save NAME',
  async run(args, io) {
    const { positionals } = parse(args, {}, { count: 1, names: 'NAME' });
    const def = await registry(io).resolve(positionals[0]!);
    const result = await cancellableOnInterrupt(io, (signal) => saveVm(def, context(io), { signal }));
    io.stdout(`Saved VM "${def.name}" (${mib(result.sizeBytes)} in ${seconds(result.durationMs)}) and stopped it. \`virtdesk vm start ${def.name}\` resumes it where it was.\n`);
    return 0;
  },
};

async function requireSavedState(io: CliIo, def: VmDefinition): Promise<void> {
  if (await readSavedState(virtdeskHome(io.env), def.id)) return;
  throw new EngineError('invalid-state', `VM "${def.name}" has no saved state.`, { hint: `Start it with \`virtdesk vm start ${def.name}\`.` });
}

const restore: CliCommand = {
  path: ['vm', 'restore'],
  summary: 'Resume a saved VM where it was (or with --discard throw the saved state away)',
  usage: 'virtdesk vm restore NAME [--discard]',
  async run(args, io) {
    const { values, positionals } = parse(args, { discard: { type: 'boolean', default: false } }, { count: 1, names: 'NAME' });
    const reg = registry(io);
    const def = await reg.resolve(positionals[0]!);
    await requireSavedState(io, def);
    if (values.discard) {
      const status = await reg.status(def);
      if (status.pid !== undefined) throw new EngineError('invalid-state', `VM "${def.name}" is running; its saved state is stale and unused.`, { hint: 'Stop it first.' });
      await discardSavedState(reg.home, def.id);
      io.stdout(`Threw the saved state of VM "${def.name}" away; its next start boots afresh.\n`);
      return 0;
    }
    const started = Date.now();
    const result = await startVm(def, { ...context(io), others: await reg.definitions() });
    io.stdout(`Restored VM "${def.name}" from its saved state (QEMU pid ${result.pid}, ${seconds(Date.now() - started)}).\n`);
    return 0;
  },
};

const template: CliCommand = {
  path: ['vm', 'template'],
  summary: 'Make a stopped VM a template (read-only base for linked clones), or --unset it',
  usage: 'virtdesk vm template NAME [--unset]',
  async run(args, io) {
    const { values, positionals } = parse(args, { unset: { type: 'boolean', default: false } }, { count: 1, names: 'NAME' });
    const reg = registry(io);
    const def = await reg.resolve(positionals[0]!);
    if (values.unset) {
      if (!(await isTemplate(reg.home, def.id))) {
        io.stdout(`VM "${def.name}" is not a template.\n`);
        return 0;
      }
      await unmarkTemplate(reg.home, def, await reg.definitions(), io.env);
      io.stdout(`VM "${def.name}" is an ordinary VM again; its disks are writable.\n`);
      return 0;
    }
    const status = await reg.status(def);
    await markTemplate(reg.home, def, { running: status.pid !== undefined, saved: (await readSavedState(reg.home, def.id)) !== undefined });
    io.stdout(`VM "${def.name}" is now a template: it cannot be started or edited, and its disks are read-only. Make linked clones with \`virtdesk vm clone ${def.name} NEW --linked\`.\n`);
    return 0;
  },
};

/** `virtdesk snapshot …`, `vm clone`, `vm save`, `vm restore`, `vm template`. */
export const snapshotCommands: CliCommand[] = [snapshotCreate, snapshotList, snapshotRevert, snapshotDelete, clone, save, restore, template];
