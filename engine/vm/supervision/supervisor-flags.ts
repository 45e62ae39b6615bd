/**
 * V8 flags of every VM supervisor process (one per running VM, alive as long as the VM): none.
 *
 * Every V8 flag makes V8 reject Node's built-in code cache (the cache records the flags it was
 * made with), so the ~180 built-in modules a supervisor loads are compiled from source into its
 * private memory instead of being read from the cache. Measured on Node 20 under serve, 3 VMs,
 * supervisor means after 30 s:
 *
 * - no flag: RSS 43.3–43.6 MiB, of which anonymous 7.2–7.4 MiB; PSS 9.1–9.4 MiB.
 * - `--jitless --no-expose-wasm`: RSS 43.2–43.7 MiB: 1.1 MiB fewer pages of the node binary
 *   (no compilers), 1.2 MiB more anonymous memory; PSS 10.3–10.7 MiB, i.e. each supervisor
 *   really costs 1.1 MiB more. CPU per stats tick the same (1.27 vs 1.30 ms, all threads).
 * - `--max-semi-space-size=1`, `--no-opt`, `--max-lazy`, `--lite-mode`: 0.5–1.5 MiB more RSS than
 *   no flag; `--single-threaded-gc`, `--v8-pool-size`, `--no-flush-bytecode`: no measurable change.
 *
 * The plumbing stays so that a flag worth having reaches both hosts the way each needs it.
 */
export const SUPERVISOR_V8_FLAGS: readonly string[] = [];

/** `execArgv` for `child_process.fork` of a supervisor: Node passes V8 flags straight to V8. */
export function supervisorForkExecArgv(flags: readonly string[] = SUPERVISOR_V8_FLAGS): string[] {
  return [...flags];
}

/**
 * `execArgv` for Electron's `utilityProcess.fork` of a supervisor. Electron appends execArgv to the
 * utility process's Chromium command line and lets Node see only its debugging options there; V8
 * takes its flags from `--js-flags`, read before the isolate is created (Electron
 * shell/browser/javascript_environment.cc).
 */
export function supervisorUtilityExecArgv(flags: readonly string[] = SUPERVISOR_V8_FLAGS): string[] {
  return flags.length === 0 ? [] : [`--js-flags=${flags.join(' ')}`];
}
