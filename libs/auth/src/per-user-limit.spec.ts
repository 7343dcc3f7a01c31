import { describe, expect, it } from 'vitest';
import { PerUserLimit } from './per-user-limit.js';

describe('PerUserLimit', () => {
  it('lets each user run at most max at once, counting a release once however often it is called', () => {
    const limit = new PerUserLimit(2);
    const [a1, a2] = [limit.take('a'), limit.take('a')];
    expect(limit.take('a')).toBeNull();
    expect(limit.take('b')).not.toBeNull();
    a1!();
    a1!();
    expect(limit.of('a')).toBe(1);
    expect(limit.take('a')).not.toBeNull();
    expect(limit.take('a')).toBeNull();
    a2!();
    expect(limit.of('a')).toBe(1);
  });
});
