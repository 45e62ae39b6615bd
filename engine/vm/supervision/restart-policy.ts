export interface RestartPolicyOptions {
  /** Delay before the first restart. */
  initialDelayMs: number;
  maxDelayMs: number;
  factor: number;
  /** A worker that ran this long before crashing starts again from the initial delay. */
  stableAfterMs: number;
  /** Give up after this many crashes within `windowMs`. */
  maxCrashes: number;
  windowMs: number;
}

export const DEFAULT_RESTART_POLICY: RestartPolicyOptions = {
  initialDelayMs: 200,
  maxDelayMs: 10_000,
  factor: 2,
  stableAfterMs: 30_000,
  maxCrashes: 5,
  windowMs: 60_000,
};

/** Decides whether and when to restart a crashed worker: exponential back-off, then give up. */
export class RestartPolicy {
  readonly #options: RestartPolicyOptions;
  readonly #now: () => number;
  #crashes: number[] = [];
  #consecutive = 0;
  #startedAt: number | undefined;

  constructor(options: Partial<RestartPolicyOptions> = {}, now: () => number = Date.now) {
    this.#options = { ...DEFAULT_RESTART_POLICY, ...options };
    this.#now = now;
  }

  /** Call when a worker (re)starts. */
  started(): void {
    this.#startedAt = this.#now();
  }

  /** Call when a worker crashed; the delay before restarting it, or undefined to give up. */
  crashed(): number | undefined {
    const now = this.#now();
    const o = this.#options;
    if (this.#startedAt !== undefined && now - this.#startedAt >= o.stableAfterMs) this.#consecutive = 0;
    this.#crashes = [...this.#crashes.filter((at) => now - at < o.windowMs), now];
    if (this.#crashes.length > o.maxCrashes) return undefined;
    const delay = Math.min(o.maxDelayMs, o.initialDelayMs * o.factor ** this.#consecutive);
    this.#consecutive += 1;
    return delay;
  }

  reset(): void {
    this.#crashes = [];
    this.#consecutive = 0;
  }
}
