import type { SuiteDefinition } from './harness';

/** Every suite of `npm run bench`, in the order they run. Suites register here as they land. */
export const suites: SuiteDefinition[] = [];
