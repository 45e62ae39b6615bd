import * as z from 'zod';
import { EngineError } from '../../api/errors';
import { qemuImgError } from './errors';
import { runQemuImg, type QemuImgRunOptions } from './run';

export interface CheckOptions extends QemuImgRunOptions {
  format?: string;
  /** Repair what check finds: 'leaks' frees leaked clusters only; 'all' also fixes errors (may lose data that was already inconsistent). */
  repair?: 'leaks' | 'all';
}

export interface CheckResult {
  /** False when the format has no consistency checks (raw, for example). */
  supported: boolean;
  /** True when the image is consistent now (after any repair). */
  clean: boolean;
  corruptions: number;
  leaks: number;
  corruptionsFixed: number;
  leaksFixed: number;
  /** Internal errors that kept check from looking at everything. */
  checkErrors: number;
  allocatedClusters?: number;
  totalClusters?: number;
  imageEndOffset?: number;
  /** What check reported, one line per finding (ERROR/Leaked/Repairing lines). */
  findings: string[];
  /** One sentence a person can read. */
  summary: string;
}

const checkSchema = z.object({
  corruptions: z.number().default(0),
  leaks: z.number().default(0),
  'corruptions-fixed': z.number().default(0),
  'leaks-fixed': z.number().default(0),
  'check-errors': z.number().default(0),
  'allocated-clusters': z.number().optional(),
  'total-clusters': z.number().optional(),
  'image-end-offset': z.number().optional(),
});

function summarize(path: string, r: Omit<CheckResult, 'summary'>): string {
  if (!r.supported) return `"${path}" is in a format without consistency checks.`;
  const parts: string[] = [];
  if (r.corruptions > 0) parts.push(`${r.corruptions} error${r.corruptions === 1 ? '' : 's'} (data may be corrupted)`);
  if (r.leaks > 0) parts.push(`${r.leaks} leaked cluster${r.leaks === 1 ? '' : 's'} (wasted space, harmless)`);
  if (r.checkErrors > 0) parts.push(`${r.checkErrors} internal error${r.checkErrors === 1 ? '' : 's'} during the check`);
  const fixed: string[] = [];
  if (r.corruptionsFixed > 0) fixed.push(`${r.corruptionsFixed} error${r.corruptionsFixed === 1 ? '' : 's'}`);
  if (r.leaksFixed > 0) fixed.push(`${r.leaksFixed} leak${r.leaksFixed === 1 ? '' : 's'}`);
  const repaired = fixed.length > 0 ? ` Repaired ${fixed.join(' and ')}.` : '';
  if (parts.length === 0) return `No errors found in "${path}".${repaired}`;
  return `"${path}" has ${parts.join(', ')}.${repaired}`;
}

/** `qemu-img check --output=json`, optionally with `-r leaks|all`. */
export async function checkImage(path: string, options: CheckOptions = {}): Promise<CheckResult> {
  const args = ['check', '--output=json'];
  if (options.format) args.push('-f', options.format);
  if (options.repair) args.push('-r', options.repair);
  args.push(path);
  const result = await runQemuImg(args, options);
  // Exit codes: 0 clean, 2 corruptions, 3 leaks only, 63 format cannot be checked, 1 check could not run.
  if (result.exitCode === 63 || /does not support checks/.test(result.stderr)) {
    const base = { supported: false, clean: true, corruptions: 0, leaks: 0, corruptionsFixed: 0, leaksFixed: 0, checkErrors: 0, findings: [] };
    return { ...base, summary: summarize(path, base) };
  }
  if (![0, 2, 3].includes(result.exitCode) || result.stdout.trim() === '') {
    throw qemuImgError(`Checking image "${path}"`, result.stderr, result.exitCode);
  }
  const parsed = checkSchema.safeParse(JSON.parse(result.stdout));
  if (!parsed.success) throw new EngineError('qemu-error', `qemu-img check output for "${path}" has an unexpected shape.`);
  const d = parsed.data;
  const findings = result.stderr
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => /^(ERROR|Leaked|Repairing|Rebuilding|Warning|The following inconsistencies)/i.test(line));
  const partial = {
    supported: true,
    clean: result.exitCode === 0,
    corruptions: d.corruptions,
    leaks: d.leaks,
    corruptionsFixed: d['corruptions-fixed'],
    leaksFixed: d['leaks-fixed'],
    checkErrors: d['check-errors'],
    findings,
    ...(d['allocated-clusters'] !== undefined ? { allocatedClusters: d['allocated-clusters'] } : {}),
    ...(d['total-clusters'] !== undefined ? { totalClusters: d['total-clusters'] } : {}),
    ...(d['image-end-offset'] !== undefined ? { imageEndOffset: d['image-end-offset'] } : {}),
  };
  return { ...partial, summary: summarize(path, partial) };
}
