import * as z from 'zod';
import { VM_DEFAULTS } from './defaults';

/** Let the host probe choose: host-passthrough (with fallbacks) under KVM, `max` under TCG. */
export const CPU_MODEL_DEFAULT = 'default';
/** Expose the host CPU as it is (KVM only; the host probe falls back when it does not start). */
export const CPU_MODEL_HOST_PASSTHROUGH = 'host-passthrough';

/**
 * CPU models to suggest where one is chosen (the details editor): the two modes above, QEMU's
 * `max` and `qemu64` (what the host probe falls back to), and common named models. Any model
 * QEMU knows is accepted; these are only suggestions.
 */
export const CPU_MODEL_SUGGESTIONS = [CPU_MODEL_DEFAULT, CPU_MODEL_HOST_PASSTHROUGH, 'max', 'qemu64', 'Skylake-Client', 'Icelake-Server', 'EPYC', 'Nehalem'] as const;

/** QEMU's limit for q35 without an IOMMU with interrupt remapping; pc allows the same. */
export const MAX_VCPUS = 255;

const count = (what: string) =>
  z
    .number()
    .int(`${what} must be a whole number`)
    .min(1, `${what} must be at least 1`)
    .max(MAX_VCPUS, `${what} must be at most ${MAX_VCPUS}`);

/** `default`, `host-passthrough` or a QEMU CPU model name (`Skylake-Client-v4`, `qemu64`, `max`). */
export const cpuModelSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'CPU model must be "default", "host-passthrough" or a QEMU CPU model name such as Skylake-Client');

export const cpuSchema = z.object({
  model: cpuModelSchema.default(VM_DEFAULTS.cpuModel),
  sockets: count('sockets').default(1),
  cores: count('cores').default(1),
  threads: count('threads').default(1),
  /** vCPUs online at boot; the rest up to sockets*cores*threads can be hot-plugged. */
  vcpus: count('vcpus').default(VM_DEFAULTS.vcpus),
});
export type Cpu = z.output<typeof cpuSchema>;

/** What a caller gives: any subset. `{ vcpus: 4 }` alone means 1 socket × 4 cores × 1 thread. */
export const cpuInputSchema = z.object({
  model: cpuModelSchema.default(VM_DEFAULTS.cpuModel),
  sockets: count('sockets').optional(),
  cores: count('cores').optional(),
  threads: count('threads').optional(),
  vcpus: count('vcpus').optional(),
});
export type CpuInput = z.input<typeof cpuInputSchema>;

export function maxVcpus(cpu: Pick<Cpu, 'sockets' | 'cores' | 'threads'>): number {
  return cpu.sockets * cpu.cores * cpu.threads;
}

/**
 * Fills the topology like virt-manager does: missing sockets and threads are 1 and missing cores
 * take the rest, because guests (and their licences) handle many cores better than many sockets.
 */
export function resolveCpu(input: z.output<typeof cpuInputSchema>): Cpu {
  const sockets = input.sockets ?? 1;
  const threads = input.threads ?? 1;
  const wanted = input.vcpus ?? VM_DEFAULTS.vcpus;
  const cores = input.cores ?? Math.max(1, Math.ceil(wanted / (sockets * threads)));
  const vcpus = input.vcpus ?? sockets * cores * threads;
  return { model: input.model, sockets, cores, threads, vcpus };
}
