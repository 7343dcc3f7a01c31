import { describe, expect, it } from 'vitest';
import { consoleCsp, isApiPath } from './web-console.js';

describe('the console Content-Security-Policy', () => {
  it('allows nothing from another host by default, and no inline script', () => {
    const csp = consoleCsp(null);
    expect(csp['script-src']).toEqual(["'self'"]);
    expect(Object.values(csp).flat().filter((source) => /^https?:|unsafe/.test(source))).toEqual([]);
  });

  it("adds only the origin of an operator's tile server, for images only", () => {
    const csp = consoleCsp('https://tiles.example.org:8443/osm/{z}/{x}/{y}.png');
    expect(csp['img-src']).toContain('https://tiles.example.org:8443');
    expect(Object.entries(csp).filter(([, sources]) => sources.some((s) => s.startsWith('https:'))).map(([name]) => name)).toEqual(['img-src']);
  });

  it('leaves every /api path to the API', () => {
    expect(['/api', '/api/', '/api/v1/health', '/api/docs'].every(isApiPath)).toBe(true);
    expect(['/', '/cases', '/apiary', '/assets/index.js'].some(isApiPath)).toBe(false);
  });
});
