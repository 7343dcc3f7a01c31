const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** Whether a string is an RFC 3339 UTC timestamp with milliseconds naming a real instant. */
export function isTimestamp(value: unknown): value is string {
  // The round trip rejects dates like 2026-02-30 that Date would silently roll over.
  if (typeof value !== 'string' || !TIMESTAMP.test(value)) return false;
  const ms = Date.parse(value);
  return !Number.isNaN(ms) && new Date(ms).toISOString() === value;
}

/** RFC 3339 UTC timestamp with milliseconds, the form tree heads and events carry. */
export function formatTimestamp(date: Date = new Date()): string {
  return date.toISOString();
}
