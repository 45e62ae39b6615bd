import * as z from 'zod';
import { EngineError } from '../../api/errors';
import { runQemuImgOk, type QemuImgRunOptions } from './run';
import type { CreatableFormat } from './types';

export interface MeasureOptions extends QemuImgRunOptions {
  targetFormat: CreatableFormat;
  /** Measure converting this image... */
  source?: { path: string; format: string };
  /** ...or a new empty image of this size. */
  sizeBytes?: number;
}

export interface MeasureResult {
  /** Bytes the new image needs as things are. */
  required: number;
  /** Bytes it would take when every cluster is written. */
  fullyAllocated: number;
}

const measureSchema = z.object({ required: z.number(), 'fully-allocated': z.number() });

/** `qemu-img measure`: how much host space an image would take. */
export async function measureImage(options: MeasureOptions): Promise<MeasureResult> {
  const args = ['measure', '--output=json', '-O', options.targetFormat];
  if (options.source) args.push('-U', '-f', options.source.format, options.source.path);
  else if (options.sizeBytes !== undefined) args.push('--size', String(options.sizeBytes));
  else throw new EngineError('invalid-argument', 'Measure needs either a source image or a size.');
  const { stdout } = await runQemuImgOk('Measuring image size', args, options);
  const parsed = measureSchema.safeParse(JSON.parse(stdout));
  if (!parsed.success) throw new EngineError('qemu-error', 'qemu-img measure printed an unexpected result.');
  return { required: parsed.data.required, fullyAllocated: parsed.data['fully-allocated'] };
}
