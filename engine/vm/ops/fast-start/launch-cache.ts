import { createHash } from 'node:crypto';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { VmDefinition } from '../../../model';
import { writeFileAtomic } from '../../../store/atomic-write';

/**
 * The command line of a VM's last start, kept so the next `virtdesk vm start` can spawn QEMU
 * (paused) before the engine has even loaded. It is only ever a guess: the start that adopts it
 * plans afresh and compares, so a stale entry costs time, never correctness.
 *
 * This module is loaded on the CLI's fast path: Node built-ins only (no zod, no engine services).
 */
export interface LaunchCacheEntry {
  version: 1;
  vmId: string;
  /** Fingerprint of everything the guess depends on; see launchCacheKey. */
  key: string;
  binary: string;
  args: string[];
}

export function launchCacheFile(home: string, vmName: string): string {
  const digest = createHash('sha256').update(vmName).digest('hex').slice(0, 32);
  return join(home, 'cache', 'launch', `${digest}.json`);
}

/** The definition as stored (vm.json's JSON, re-serialized so formatting does not matter). */
export function definitionFingerprint(definition: unknown): string {
  return createHash('sha256').update(JSON.stringify(definition)).digest('hex');
}

/**
 * What the guess depends on besides the definition: the QEMU binary (by identity, so an upgrade
 * invalidates it) and the runtime folder its sockets live in (depends on the environment).
 */
export async function launchCacheKey(input: { definition: string; binary: string; runDir: string }): Promise<string | undefined> {
  let binary;
  try {
    binary = await stat(input.binary);
  } catch {
    return undefined;
  }
  const identity = [input.definition, input.binary, binary.dev, binary.ino, binary.size, binary.mtimeMs, input.runDir].join('\n');
  return createHash('sha256').update(identity).digest('hex');
}

/**
 * Whether a start of `def` can be guessed safely: nothing outside QEMU must be prepared before it
 * runs. Taps, bridges and link sockets are set up per start; forwarded host ports are checked to
 * be free first, which a QEMU already holding them would fail.
 */
export function canGuessLaunch(def: Pick<VmDefinition, 'nics'>): boolean {
  return def.nics.every((nic) => nic.network.kind === 'user' && nic.network.portForwards.length === 0);
}

function isEntry(value: unknown): value is LaunchCacheEntry {
  if (typeof value !== 'object' || value === null) return false;
  const entry = value as Record<string, unknown>;
  return (
    entry.version === 1 &&
    typeof entry.vmId === 'string' &&
    typeof entry.key === 'string' &&
    typeof entry.binary === 'string' &&
    Array.isArray(entry.args) &&
    entry.args.every((arg) => typeof arg === 'string')
  );
}

export async function readLaunchCache(home: string, vmName: string): Promise<LaunchCacheEntry | undefined> {
  try {
    const parsed: unknown = JSON.parse(await readFile(launchCacheFile(home, vmName), 'utf8'));
    return isEntry(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

export async function writeLaunchCache(home: string, vmName: string, entry: LaunchCacheEntry): Promise<void> {
  const file = launchCacheFile(home, vmName);
  await mkdir(join(home, 'cache', 'launch'), { recursive: true, mode: 0o700 });
  await writeFileAtomic(file, `${JSON.stringify(entry)}\n`);
}
