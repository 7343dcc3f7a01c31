import { describe, expect, it } from 'vitest';
import { extensionOf } from './package-builder.js';

describe('extensionOf (the court package name of an original sent without a usable name)', () => {
  it('names documents, e-mails and saved pages by their sniffed type; an unknown type gets none', () => {
    expect(['application/msword', 'application/vnd.ms-excel', 'application/vnd.ms-outlook', 'application/rtf', 'message/rfc822', 'multipart/related'].map(extensionOf)).toEqual([
      '.doc',
      '.xls',
      '.msg',
      '.rtf',
      '.eml',
      '.mhtml',
    ]);
    expect(extensionOf('application/x-cfb')).toBe('');
  });
});
