/** Undo steps of a suite's setup, run last-in first-out; every step runs even if one fails. */
export class Cleanup {
  readonly #steps: (() => unknown)[] = [];

  add(step: () => unknown): void {
    this.#steps.push(step);
  }

  async run(log: (line: string) => void = () => {}): Promise<void> {
    for (const step of this.#steps.splice(0).reverse()) {
      try {
        await step();
      } catch (error) {
        log(`cleanup failed: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  }

  /** Runs `build`; when it throws, cleans up what it had set up and rethrows. */
  async guard<T>(build: () => Promise<T>, log?: (line: string) => void): Promise<T> {
    try {
      return await build();
    } catch (error) {
      await this.run(log);
      throw error;
    }
  }
}
