import type { VmDefinition } from '../../model/definition';
import type { DriveSlot } from './drive-slots';
import type { PciLayout } from './pci-layout';
import type { ArgvInput } from './types';

/** Everything a step sees: the input and the device layout planned once for all steps. */
export interface ArgvContext {
  input: ArgvInput;
  def: VmDefinition;
  pci: PciLayout;
  drives: ReadonlyMap<string, DriveSlot>;
  bootIndex: ReadonlyMap<string, number>;
}

/** One small piece of the command line (house rule 4). */
export interface ArgvStep {
  name: string;
  build(ctx: ArgvContext): string[];
}
