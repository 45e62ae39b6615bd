import * as z from 'zod';
import { method } from './contract';

export const hostInfoSchema = z.object({
  engineVersion: z.string(),
  hostname: z.string(),
  /** Which host process serves the engine: the Electron app or `virtdesk serve`. */
  hostKind: z.enum(['electron', 'serve', 'memory']),
  /** Set when the host runs as root: what that gives every browser session, for a banner. */
  rootWarning: z.string().nullable().default(null),
});
export type HostInfo = z.infer<typeof hostInfoSchema>;

export const hostOverviewSchema = z.object({
  qemu: z.object({ binary: z.string(), version: z.string() }),
  accelerator: z.object({ accel: z.enum(['kvm', 'tcg']), reason: z.string() }),
  kvm: z.object({ usable: z.boolean(), module: z.string().nullable(), whyNot: z.string().nullable() }),
  cpuModel: z.object({ model: z.string(), reason: z.string() }),
  firmware: z.object({ uefi: z.string().nullable(), uefiSecureBoot: z.string().nullable() }),
  resources: z.object({
    cpus: z.number().int(),
    memoryTotalBytes: z.number(),
    memoryAvailableBytes: z.number(),
    ksm: z.string(),
    hugepages: z.string(),
    loadAverage: z.array(z.number()),
  }),
  limits: z.object({ maxMemoryMiB: z.number().int(), maxVcpus: z.number().int() }),
});
export type HostOverview = z.infer<typeof hostOverviewSchema>;

export const hostCheckSchema = z.object({
  id: z.string(),
  title: z.string(),
  status: z.enum(['PASS', 'WARN', 'FAIL']),
  detail: z.string(),
  fix: z.string().optional(),
});
export type HostCheck = z.infer<typeof hostCheckSchema>;

export const consoleWindowResultSchema = z.object({ opened: z.boolean() });
export type ConsoleWindowResult = z.infer<typeof consoleWindowResultSchema>;

export const hostMethods = {
  info: method(z.object({}), hostInfoSchema),
  overview: method(z.object({ refresh: z.boolean().default(false) }), hostOverviewSchema),
  check: method(z.object({}), z.array(hostCheckSchema)),
  /**
   * Shows a VM's console in a window of its own when the host has windows (Electron: one window per
   * VM, brought to the front if it is open). `opened: false` means this host has none (`serve`):
   * the renderer opens `#/console/<id>` in a browser window itself.
   */
  openConsoleWindow: method(z.object({ id: z.string().min(1).max(64) }), consoleWindowResultSchema),
};
