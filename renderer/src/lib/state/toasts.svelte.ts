import { errorText } from '../common/errors';

export type ToastKind = 'info' | 'success' | 'error';

export interface Toast {
  id: number;
  kind: ToastKind;
  message: string;
  hint?: string;
}

/** Errors stay until dismissed (nothing a person must read disappears on its own); the rest fade. */
const FADE_AFTER_MS = 5000;

/** Short notices about finished or failed work, shown in a live region at the corner of the window. */
export class Toasts {
  items = $state<Toast[]>([]);
  #nextId = 1;

  show(kind: ToastKind, message: string, hint?: string): number {
    const id = this.#nextId++;
    this.items = [...this.items, hint ? { id, kind, message, hint } : { id, kind, message }];
    if (kind !== 'error') setTimeout(() => this.dismiss(id), FADE_AFTER_MS);
    return id;
  }

  info(message: string): number {
    return this.show('info', message);
  }

  success(message: string): number {
    return this.show('success', message);
  }

  /** `what` says which work failed ("Starting web1"); the engine's message says why. */
  error(what: string, error: unknown): number {
    const text = errorText(error);
    return this.show('error', `${what} failed: ${text.message}`, text.hint);
  }

  dismiss(id: number): void {
    this.items = this.items.filter((toast) => toast.id !== id);
  }
}

/** One notice area for the whole window. */
export const toasts = new Toasts();
