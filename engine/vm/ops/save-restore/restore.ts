import { open } from 'node:fs/promises';
import { EngineError } from '../../../api/errors';
import { loadQemuCapabilities } from '../../../host/capabilities';
import { findQemu } from '../../../host/find-qemu';
import { parseVmDefinition, type VmDefinition } from '../../../model';
import { QmpClosedError, type QmpClient } from '../../../qemu/qmp';
import { extractQemuMessage } from '../../runtime/qemu-errors';
import { hardwareChanges } from '../snapshots/hardware-diff';
import type { StartResume } from '../start-resume';
import { assertMachineAvailable, machineFamily } from './machine-fit';
import { discardSavedState, readSavedState, type SavedStateRecord } from './saved-state';

const POLL_MS = 50;

function discardHint(name: string): string {
  return `Or throw the saved state away with \`virtdesk vm restore --discard ${name}\` (the guest then boots afresh, as after a power cut).`;
}

/**
 * Why a saved state cannot go back into this VM, checked before QEMU runs: the machine type it was
 * saved on must still exist and be the VM's machine, and the VM's hardware must be what the guest
 * had. Throws invalid-state saying which.
 */
export function assertSavedStateFits(def: VmDefinition, saved: SavedStateRecord, caps: Parameters<typeof assertMachineAvailable>[1]): void {
  const what = `The saved state of VM "${def.name}"`;
  const family = machineFamily(saved.machineType);
  if (family !== def.machine) {
    throw new EngineError(
      'invalid-state',
      `${what} was taken on machine type ${saved.machineType}${family ? ` (a ${family} machine)` : ''}, but the VM is now a ${def.machine} machine; a saved state loads only into the machine type it was taken on.`,
      { hint: `Set the VM's machine back to ${family ?? saved.machineType}. ${discardHint(def.name)}`, details: { savedMachineType: saved.machineType, machine: def.machine } },
    );
  }
  assertMachineAvailable(saved.machineType, caps, what, `Install a QEMU that has ${saved.machineType}. ${discardHint(def.name)}`);
  let savedDef: VmDefinition;
  try {
    savedDef = parseVmDefinition(saved.definition);
  } catch {
    return;
  }
  const changes = hardwareChanges(savedDef, def);
  if (changes.length > 0) {
    throw new EngineError('invalid-state', `${what} does not fit its hardware any more: ${changes.join(', ')} changed since it was saved, and the guest would find different devices than it had.`, {
      hint: `Undo those changes. ${discardHint(def.name)}`,
      details: { changes },
    });
  }
}

async function readLogFrom(path: string, offset: number): Promise<string> {
  try {
    const handle = await open(path, 'r');
    try {
      const { size } = await handle.stat();
      const buffer = Buffer.alloc(Math.max(0, Math.min(size - offset, 16 * 1024)));
      await handle.read(buffer, 0, buffer.length, offset);
      return buffer.toString('utf8');
    } finally {
      await handle.close();
    }
  } catch {
    return '';
  }
}

/** Feeds the file to a QEMU waiting with `-incoming defer` and follows the load to its end. */
async function loadSavedState(qmp: QmpClient, file: string, vmName: string, run: { qemuLog: string; logOffset: number }): Promise<void> {
  const failed = async (why: string) => {
    // QEMU exits when a load fails; its last words say why (e.g. a machine type mismatch).
    await new Promise((resolve) => setTimeout(resolve, 200));
    const qemuSays = extractQemuMessage(await readLogFrom(run.qemuLog, run.logOffset), 'qemu-system-x86_64');
    return new EngineError('qemu-error', `Restoring VM "${vmName}" from its saved state failed: ${qemuSays.replace(/\n+/g, '; ') || why}. The saved state is kept.`, {
      hint: `QEMU's output is in ${run.qemuLog}. ${discardHint(vmName)}`,
    });
  };
  try {
    await qmp.migrateIncomingFromFile(file);
    for (;;) {
      const info = await qmp.queryMigrate();
      if (info.status === 'completed') return;
      if (info.status === 'failed' || info.status === 'cancelled') throw await failed(info['error-desc'] ?? 'QEMU could not load it');
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  } catch (error) {
    if (error instanceof QmpClosedError) throw await failed('QEMU exited while loading it');
    throw error;
  }
}

/**
 * For a start: when the VM has a saved state, how to continue from it (or, with `discardSaved`,
 * remove it and boot afresh). Throws before anything runs when the state cannot fit.
 */
export async function resumeFromSavedState(def: VmDefinition, ctx: { home: string; env: NodeJS.ProcessEnv; discardSaved?: boolean }): Promise<StartResume | undefined> {
  const saved = await readSavedState(ctx.home, def.id);
  if (!saved) return undefined;
  if (ctx.discardSaved) {
    await discardSavedState(ctx.home, def.id);
    return undefined;
  }
  if ('problem' in saved) {
    throw new EngineError('invalid-state', `VM "${def.name}" has a saved state that cannot be read: ${saved.problem}.`, { hint: discardHint(def.name) });
  }
  const exists = await open(saved.file, 'r').then(
    (handle) => handle.close().then(() => true),
    () => false,
  );
  if (!exists) throw new EngineError('invalid-state', `The saved state of VM "${def.name}" is incomplete: ${saved.file} is missing.`, { hint: discardHint(def.name) });
  const caps = await loadQemuCapabilities({ binary: await findQemu(ctx.env), home: ctx.home, env: ctx.env });
  assertSavedStateFits(def, saved, caps);
  return {
    what: 'saved-state',
    machineType: saved.machineType,
    incoming: 'defer',
    prepare: async (qmp, run) => {
      await loadSavedState(qmp, saved.file, def.name, run);
      return { run: saved.runState === 'running' };
    },
    done: () => discardSavedState(ctx.home, def.id),
  };
}
