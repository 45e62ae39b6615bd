import { describe, expect, it } from 'vitest';
import { EngineError } from '../../../engine/api/errors';
import { assertOperationAllowed, canTransition, stateAfterExit, VmStateMachine } from '../../../engine/vm/states';

describe('VM states', () => {
  it('allows the normal life cycle and refuses impossible jumps', () => {
    expect(canTransition('stopped', 'starting')).toBe(true);
    expect(canTransition('starting', 'running')).toBe(true);
    expect(canTransition('running', 'paused')).toBe(true);
    expect(canTransition('paused', 'running')).toBe(true);
    expect(canTransition('running', 'shutting-down')).toBe(true);
    expect(canTransition('shutting-down', 'stopped')).toBe(true);
    expect(canTransition('stopped', 'running')).toBe(false);
    expect(canTransition('stopped', 'paused')).toBe(false);
    expect(canTransition('crashed', 'running')).toBe(false);
  });

  it('keeps the exit reason of the last stop and clears it on start', () => {
    const machine = new VmStateMachine();
    const seen: string[] = [];
    machine.onChange((state) => seen.push(state));
    expect(machine.transition('starting')).toBe(true);
    expect(machine.transition('running')).toBe(true);
    expect(machine.transition('crashed', { kind: 'qemu-crashed', message: 'SIGSEGV' })).toBe(true);
    expect(machine.exitReason).toEqual({ kind: 'qemu-crashed', message: 'SIGSEGV' });
    expect(machine.transition('paused')).toBe(false);
    expect(machine.state).toBe('crashed');
    machine.transition('starting');
    expect(machine.exitReason).toBeUndefined();
    expect(seen).toEqual(['starting', 'running', 'crashed', 'starting']);
  });

  it('maps exit reasons to the final state', () => {
    expect(stateAfterExit({ kind: 'guest-shutdown' })).toBe('stopped');
    expect(stateAfterExit({ kind: 'user-stopped', forced: true })).toBe('stopped');
    expect(stateAfterExit({ kind: 'killed', message: 'SIGKILL' })).toBe('crashed');
    expect(stateAfterExit({ kind: 'failed-to-start', message: 'x' })).toBe('crashed');
  });

  it('says in words why start of a running VM and stop of a stopped one fail', () => {
    const start = (() => {
      try {
        assertOperationAllowed('start', 'running', 'web');
      } catch (error) {
        return error;
      }
    })();
    expect(start).toBeInstanceOf(EngineError);
    expect((start as EngineError).code).toBe('invalid-state');
    expect((start as EngineError).message).toBe('Cannot start VM "web": it is running.');
    expect(() => assertOperationAllowed('stop', 'stopped', 'web')).toThrow('Cannot stop VM "web": it is stopped.');
    expect(() => assertOperationAllowed('pause', 'paused', 'web')).toThrow(/it is paused/);
    expect(() => assertOperationAllowed('resume', 'running', 'web')).toThrow(/Cannot resume/);
    expect(() => assertOperationAllowed('stop', 'running', 'web')).not.toThrow();
  });
});
