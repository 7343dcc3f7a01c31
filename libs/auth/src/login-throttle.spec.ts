import { describe, expect, it } from 'vitest';
import { loginDelaySeconds } from './login-throttle.js';

describe('the progressive login slowdown', () => {
  const rule = { freeFailures: 3, maxDelaySeconds: 900 };

  it('costs nothing for the first failures, then waits 1 s and doubles', () => {
    expect([0, 1, 2].map((n) => loginDelaySeconds(n, rule))).toEqual([0, 0, 0]);
    expect([3, 4, 5, 6, 7].map((n) => loginDelaySeconds(n, rule))).toEqual([1, 2, 4, 8, 16]);
  });

  it('is capped (15 minutes by default), even after very many failures', () => {
    expect(loginDelaySeconds(13, rule)).toBe(900);
    expect(loginDelaySeconds(10_000, rule)).toBe(900);
    expect(loginDelaySeconds(5, { freeFailures: 5, maxDelaySeconds: 60 })).toBe(1);
  });
});
