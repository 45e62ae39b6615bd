import { problemsOf, type Problem } from '../common/errors';
import { jsonEqual, mergePatch } from '../machines/merge-patch';
import type { VmDetailsModel } from './vms-details.svelte';

/**
 * One hardware editor's draft of part of a definition. `before` is that part as stored (as a
 * top-level fragment such as `{ cpu }` or `{ disks }`), `build` turns the draft into the same
 * fragment; Apply sends only the merge patch between the two.
 */
export class VmEditor<T> {
  draft: T = $state() as T;
  saving = $state(false);
  problems = $state<Problem[]>([]);
  readonly #model: VmDetailsModel;
  readonly #original: T;
  readonly #before: Record<string, unknown>;
  readonly #build: (draft: T) => Record<string, unknown>;

  constructor(model: VmDetailsModel, original: T, before: Record<string, unknown>, build: (draft: T) => Record<string, unknown>) {
    this.#model = model;
    // Snapshots: the definition comes from reactive state, whose proxies cannot be cloned.
    this.#original = $state.snapshot(original) as T;
    this.draft = $state.snapshot(original) as T;
    this.#before = $state.snapshot(before);
    this.#build = build;
  }

  get dirty(): boolean {
    return !jsonEqual($state.snapshot(this.draft), this.#original);
  }

  patch(): Record<string, unknown> | undefined {
    return mergePatch(this.#before, this.#build($state.snapshot(this.draft) as T)) as Record<string, unknown> | undefined;
  }

  revert(): void {
    this.draft = structuredClone(this.#original);
    this.problems = [];
  }

  async apply(): Promise<boolean> {
    const patch = this.patch();
    if (!patch) return true;
    return this.send(patch);
  }

  /** Sends a patch built elsewhere (remove a device, eject a disc). */
  async send(patch: Record<string, unknown>): Promise<boolean> {
    this.saving = true;
    this.problems = [];
    try {
      await this.#model.update(patch);
      return true;
    } catch (error) {
      this.problems = problemsOf(error);
      return false;
    } finally {
      this.saving = false;
    }
  }
}
