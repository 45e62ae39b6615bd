import * as z from 'zod';
import { parseCidr, tryParseIpv4 } from './net/ipv4';

/** An absolute host path. QEMU gets it as-is (or JSON-encoded), so only NUL and newlines are refused. */
export const absolutePathSchema = z
  .string()
  .min(1, 'path is empty')
  .max(4096, 'path is longer than 4096 characters')
  .refine((value) => value.startsWith('/'), { message: 'must be an absolute path (starting with /)' })
  .refine((value) => !/[\0\n\r]/.test(value), { message: 'must not contain NUL or line breaks' });

export const ipv4Schema = z.string().refine((value) => tryParseIpv4(value) !== undefined, {
  message: 'must be an IPv4 address such as 10.0.2.2',
});

/** `A.B.C.D/N`; the address part is the subnet (host bits are ignored, as slirp does). */
export const ipv4CidrSchema = z.string().superRefine((value, ctx) => {
  try {
    parseCidr(value, 'subnet');
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: error instanceof Error ? error.message : String(error) });
  }
});

export const portSchema = z.number().int().min(1, 'ports start at 1').max(65535, 'ports end at 65535');
