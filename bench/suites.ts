import { consoleFpsSuite, consoleKeysSuite } from './console';
import type { SuiteDefinition } from './harness';
import { idleSuite } from './idle';
import { linkedCloneSuite } from './linked-clone';
import { memorySuite } from './memory';
import { scaleRenderSuite, scaleRpcSuite, scaleScrollSuite } from './scale';
import { vmStartSuite } from './vm-start';

/** Every suite of `npm run bench`, in the order they run. */
export const suites: SuiteDefinition[] = [
  vmStartSuite,
  consoleFpsSuite,
  consoleKeysSuite,
  memorySuite,
  idleSuite,
  scaleRpcSuite,
  scaleRenderSuite,
  scaleScrollSuite,
  linkedCloneSuite,
];
