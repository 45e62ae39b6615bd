/**
 * V8 flags of every VM supervisor process (one per running VM, alive as long as the VM).
 *
 * `--jitless`: a supervisor runs about a millisecond of JavaScript every 2 s, so it gains nothing
 * from V8's compilers, and not mapping them saves about 0.8 MiB of resident memory per process
 * (bench `memory`). CPU per stats tick once warm: 1.27 ms with it, 1.30 ms without (all threads,
 * /proc/<pid>/task/<tid>/schedstat, 2 s interval). It also turns WebAssembly off, which
 * `--no-expose-wasm` says explicitly; without it V8 prints a warning on every start.
 *
 * Every flag here makes V8 reject Node's built-in code cache (the cache records the flags it was
 * made with), so the built-in modules a supervisor loads are compiled from source instead: a flag
 * must save more than that costs. Measured on Node 20 (bench `memory`, RSS per supervisor): none
 * 44.2 MiB, `--jitless` 43.4 MiB; `--max-semi-space-size=1`, `--no-opt`, `--max-lazy` and
 * `--lite-mode` each cost 0.5–1.5 MiB more than no flag; `--single-threaded-gc`, `--v8-pool-size`
 * and `--no-flush-bytecode` change neither memory nor CPU measurably.
 */
export const SUPERVISOR_V8_FLAGS: readonly string[] = ['--jitless', '--no-expose-wasm'];

/** `execArgv` for `child_process.fork` of a supervisor: Node passes V8 flags straight to V8. */
export function supervisorForkExecArgv(): string[] {
  return [...SUPERVISOR_V8_FLAGS];
}

/**
 * `execArgv` for Electron's `utilityProcess.fork` of a supervisor. Electron appends execArgv to the
 * utility process's Chromium command line and lets Node see only its debugging options there; V8
 * takes its flags from `--js-flags`, read before the isolate is created (Electron
 * shell/browser/javascript_environment.cc).
 */
export function supervisorUtilityExecArgv(): string[] {
  return [`--js-flags=${SUPERVISOR_V8_FLAGS.join(' ')}`];
}
