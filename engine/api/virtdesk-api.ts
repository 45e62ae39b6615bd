import { z } from 'zod';
import { defineContract, method } from './contract';

/** The one contract between every host (Electron main, `virtdesk serve`) and the renderer. */
export const hostInfoSchema = z.object({
  engineVersion: z.string(),
  hostname: z.string(),
  /** Which host process serves the engine: the Electron app or `virtdesk serve`. */
  hostKind: z.enum(['electron', 'serve', 'memory']),
});
export type HostInfo = z.infer<typeof hostInfoSchema>;

export const virtdeskContract = defineContract({
  services: {
    host: {
      info: method(z.object({}), hostInfoSchema),
    },
  },
  events: {},
});

export type VirtdeskContract = typeof virtdeskContract;
