// Types of electron-launch.mjs for the TypeScript tests that import it.
export type ElectronBinary = { ok: true; binary: string } | { ok: false; why: string };
export function electronBinary(env?: NodeJS.ProcessEnv, packageDir?: string): ElectronBinary;
export function electronEnvironment(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv;
export function usernsRestriction(procRoot?: string): string | undefined;
export function suidHelperReady(helper: string, stat?: (path: string) => { uid: number; mode: number }): boolean;
export function sandboxProblem(
  binary: string,
  options?: { procRoot?: string; stat?: (path: string) => { uid: number; mode: number }; uid?: number | undefined },
): string | undefined;
