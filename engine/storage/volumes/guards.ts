import { EngineError } from '../../api/errors';
import { describeUsers } from '../usage';
import type { Volume } from './types';

/** Refuses changing a file a running VM has open. */
export function assertNotRunning(volume: Volume, action: string, options: { readOnlyIsFine?: boolean } = {}): void {
  const running = volume.usedBy.filter((u) => u.running && !(options.readOnlyIsFine && u.readOnly));
  if (running.length > 0) {
    throw new EngineError('conflict', `Cannot ${action} "${volume.name}": it is in use by the running VM ${describeUsers(running)}.`, {
      hint: 'Shut the VM down or detach the disk from it first.',
      details: { usedBy: running },
    });
  }
}

/** Refuses changing the base image of linked clones: they would silently break. */
export function assertNotBase(volume: Volume, action: string): void {
  if (volume.baseOf.length > 0) {
    throw new EngineError('conflict', `Cannot ${action} "${volume.name}": it is the base image of the linked clone${volume.baseOf.length === 1 ? '' : 's'} ${volume.baseOf.join(', ')}.`, {
      hint: 'Delete those clones, or make them standalone first (a full copy of each).',
      details: { baseOf: volume.baseOf },
    });
  }
}
