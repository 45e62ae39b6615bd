import { describe, expect, it } from 'vitest';
import { RestartPolicy } from '../../../engine/vm/supervision/restart-policy';

describe('RestartPolicy', () => {
  it('backs off exponentially, caps the delay and gives up after too many crashes', () => {
    let now = 0;
    const policy = new RestartPolicy({ initialDelayMs: 100, factor: 2, maxDelayMs: 500, maxCrashes: 4, windowMs: 10_000, stableAfterMs: 5_000 }, () => now);
    policy.started();
    const delays = [];
    for (let i = 0; i < 4; i++) {
      now += 10;
      delays.push(policy.crashed());
      policy.started();
    }
    expect(delays).toEqual([100, 200, 400, 500]);
    now += 10;
    expect(policy.crashed()).toBeUndefined();
  });

  it('starts over after a worker ran stably and forgets crashes outside the window', () => {
    let now = 0;
    const policy = new RestartPolicy({ initialDelayMs: 100, factor: 2, maxCrashes: 2, windowMs: 1_000, stableAfterMs: 500 }, () => now);
    policy.started();
    expect(policy.crashed()).toBe(100);
    policy.started();
    now += 10;
    expect(policy.crashed()).toBe(200);
    policy.started();
    now += 2_000;
    expect(policy.crashed()).toBe(100);
  });
});
