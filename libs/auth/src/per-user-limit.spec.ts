import { describe, expect, it } from 'vitest';
import { PerUserLimit } from './per-user-limit.js';

describe('PerUserLimit', () => {
  it('lets each user run at most max at once, counting a release once however often it is called', () => {
    const limit = new PerUserLimit(2);
    const full = () => new Error('full');
    const [a1, a2] = [limit.take('a', full), limit.take('a', full)];
    expect(() => limit.take('a', full)).toThrow('full');
    expect(limit.of('a')).toBe(2);
    limit.take('b', full);
    a1();
    a1();
    expect(limit.of('a')).toBe(1);
    limit.take('a', full);
    expect(() => limit.take('a', full)).toThrow('full');
    a2();
    expect(limit.of('a')).toBe(1);
  });
});
