import { describe, expect, it } from 'vitest';
import { SUPERVISOR_V8_FLAGS, supervisorForkExecArgv, supervisorUtilityExecArgv } from '../../../engine/vm/supervision/supervisor-flags';
import { utilityWorkerFactory } from '../../../main/electron/utility-worker';
import { fakeUtilityProcess } from '../electron/fakes';

describe('supervisor V8 flags', () => {
  it('go to Node as they are under fork, and through --js-flags to a utilityProcess', () => {
    expect(supervisorForkExecArgv(['--jitless', '--no-expose-wasm'])).toEqual(['--jitless', '--no-expose-wasm']);
    expect(supervisorUtilityExecArgv(['--jitless', '--no-expose-wasm'])).toEqual(['--js-flags=--jitless --no-expose-wasm']);
    // No flags: no empty --js-flags switch either.
    expect(supervisorUtilityExecArgv([])).toEqual([]);
    expect(supervisorForkExecArgv()).toEqual([...SUPERVISOR_V8_FLAGS]);
  });

  it('a utilityProcess worker can be given other flags', () => {
    const utility = fakeUtilityProcess();
    utilityWorkerFactory(utility, { execArgv: ['--js-flags=--max-lazy'] })({ modulePath: '/app/dist/node/supervisor.cjs', name: 'vm x' });
    expect((utility.children[0]!.options as { execArgv?: string[] }).execArgv).toEqual(['--js-flags=--max-lazy']);
  });
});
