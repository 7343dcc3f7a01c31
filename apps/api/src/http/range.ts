/** The single byte range a `Range` header asks for: null for the whole body, 'unsatisfiable' for 416. */
export function parseRange(header: string | undefined, size: number): { start: number; end: number } | null | 'unsatisfiable' {
  if (!header) return null;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  // Multiple ranges and other units may be ignored (RFC 9110 §14.2): the whole body is sent.
  if (!match || (match[1] === '' && match[2] === '')) return null;
  let start: number;
  let end: number;
  if (match[1] === '') {
    const suffix = Number(match[2]);
    if (suffix === 0) return 'unsatisfiable';
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(match[1]);
    end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
    if (start > end || start >= size) return 'unsatisfiable';
  }
  if (size === 0) return 'unsatisfiable';
  return { start, end };
}

/** A content-addressed blob's entity tag: strong, since the bytes of a hash never change. */
export const entityTag = (sha256: string): string => `"sha256-${sha256}"`;

/**
 * Whether a Range may be honoured under `If-Range` (RFC 9110 §13.1.5): when there is none, or
 * when it names this representation's entity tag, compared strongly. A date (no `Last-Modified`
 * is sent, so none can match), a weak tag or another tag means the client's partial copy may be
 * of other bytes: the whole body is sent (200), never a range to splice onto it.
 */
export function ifRangeHolds(header: string | undefined, etag: string): boolean {
  return header === undefined || header.trim() === etag;
}

/** The entity tags of an If-Match or If-None-Match list, or '*' (RFC 9110 §8.8.3, §13.1.1). */
function entityTags(header: string): string[] | '*' {
  if (header.trim() === '*') return '*';
  return header.match(/(W\/)?"[^"]*"/g) ?? [];
}

/**
 * What the preconditions of a GET or HEAD of this representation decide, in RFC 9110 §13.2.2's
 * order: `If-Match` without this tag (compared strongly) fails (412); `If-None-Match` naming it
 * (compared weakly), or `*`, means the client holds these bytes (304). Null: go on.
 */
export function preconditionOutcome(ifMatch: string | undefined, ifNoneMatch: string | undefined, etag: string): 412 | 304 | null {
  if (ifMatch !== undefined) {
    const tags = entityTags(ifMatch);
    if (tags !== '*' && !tags.includes(etag)) return 412;
  }
  if (ifNoneMatch !== undefined) {
    const tags = entityTags(ifNoneMatch);
    if (tags === '*' || tags.some((tag) => tag.replace(/^W\//, '') === etag)) return 304;
  }
  return null;
}
