import { describe, expect, it } from 'vitest';
import { summaryTable } from './bulk-upload.js';

describe('summaryTable', () => {
  it('shows a file name or an error carrying terminal escapes as visible text, one row per file', () => {
    const table = summaryTable({
      archive: 'https://archive.example',
      caseId: '0b6f2f3e-0000-4000-8000-000000000000',
      finishedAt: '2026-12-04T10:00:00.000Z',
      keys: [],
      files: [
        { file: 'dump/IMG\u001b[2K\r\u009b1Astored.jpg', sizeBytes: 3, sha256: 'a'.repeat(64), status: 'failed', error: 'HTTP 422: bad\nline' },
        { file: 'dump/Знімок\u202egpj.exe', sizeBytes: 3, sha256: 'b'.repeat(64), status: 'stored', evidenceId: '1c2d', leafIndex: 7 },
      ],
    });
    expect(table).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e]/);
    expect(table).toContain('dump/IMG[U+001B][2K[U+000D][U+009B]1Astored.jpg  (HTTP 422: bad[U+000A]line)');
    expect(table).toContain('dump/Знімок[U+202E]gpj.exe');
    expect(table.trimEnd().split('\n')).toHaveLength(6);
  });
});
