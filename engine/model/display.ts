import * as z from 'zod';
import { VM_DEFAULTS } from './defaults';

/** virtio-vga: resizable, fast; std: plain VGA (any guest); qxl: for old SPICE-era guests; none: headless. */
export const VIDEO_MODELS = ['virtio-vga', 'std', 'qxl', 'none'] as const;
export type VideoModel = (typeof VIDEO_MODELS)[number];

export const displaySchema = z.object({
  /** The screen on a VNC unix socket in the VM's 0700 runtime folder (never TCP or websocket). */
  vnc: z.boolean().default(VM_DEFAULTS.vnc),
  video: z.enum(VIDEO_MODELS).default(VM_DEFAULTS.video),
  /** An absolute pointer, so the mouse follows the VNC client without grabbing. */
  usbTablet: z.boolean().default(VM_DEFAULTS.usbTablet),
});
export type Display = z.output<typeof displaySchema>;
