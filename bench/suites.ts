import type { SuiteDefinition } from './harness';
import { linkedCloneSuite } from './linked-clone';
import { vmStartSuite } from './vm-start';

/** Every suite of `npm run bench`, in the order they run. */
export const suites: SuiteDefinition[] = [vmStartSuite, linkedCloneSuite];
