/** Where a CLI command writes; tests pass their own. */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  env: NodeJS.ProcessEnv;
}

export interface CliCommand {
  /** The words that select it, e.g. ['vm', 'start']. */
  path: readonly string[];
  summary: string;
  usage: string;
  /** Returns the exit code. Long-running commands resolve when they finish. */
  run(args: string[], io: CliIo): Promise<number>;
}

export const processIo: CliIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
};
