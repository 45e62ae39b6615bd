import { stat } from 'node:fs/promises';
import { virtdeskHome } from '../paths';
import { hostCachePath, readHostCache, writeHostCache } from './cache-file';
import { findQemu } from './find-qemu';
import { parseCapabilities, probeRaw, type QemuCapabilities, type RawProbe } from './probe';

export interface LoadCapabilitiesOptions {
  /** The QEMU binary; found with `findQemu` when not given. */
  binary?: string;
  env?: NodeJS.ProcessEnv;
  /** Data folder holding `cache/`; `virtdeskHome(env)` when not given. */
  home?: string;
  /** Ignore the cache and probe again. */
  refresh?: boolean;
  timeoutMs?: number;
  /** Replaces the real probe (tests). */
  probe?: (binary: string) => Promise<RawProbe>;
}

/** The binary's capabilities, from `<home>/cache/` when the binary's path and mtime match, else probed and cached. */
export async function loadQemuCapabilities(options: LoadCapabilitiesOptions = {}): Promise<QemuCapabilities> {
  const env = options.env ?? process.env;
  const binary = options.binary ?? (await findQemu(env));
  const home = options.home ?? virtdeskHome(env);
  const { mtimeMs } = await stat(binary);
  const cachePath = hostCachePath(home, 'qemu-caps', binary);
  if (!options.refresh) {
    const cached = await readHostCache<QemuCapabilities>(cachePath, (caps) => caps.binary === binary && caps.mtimeMs === mtimeMs);
    if (cached) return cached;
  }
  const raw = await (options.probe ?? ((b: string) => probeRaw(b, options.timeoutMs)))(binary);
  const caps = parseCapabilities(raw, binary, mtimeMs);
  await writeHostCache(cachePath, caps);
  return caps;
}
