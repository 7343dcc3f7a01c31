/**
 * Formatting shared by the HTML and PDF reports: times (UTC with Kyiv local time beside), sizes,
 * positions, and making untrusted text visible (hidden control and direction characters are shown
 * as `[U+202E]` rather than acted upon, so a file name cannot disguise itself).
 */

const KYIV_ZONE = (() => {
  try {
    new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Kyiv' });
    return 'Europe/Kyiv';
  } catch {
    // ICU older than tzdata 2022b knows only the old spelling.
    return 'Europe/Kiev';
  }
})();

const kyivFormat = new Intl.DateTimeFormat('en-GB', {
  timeZone: KYIV_ZONE,
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  hourCycle: 'h23',
  timeZoneName: 'longOffset',
});

/** An RFC 3339 instant: a date, a time and a zone (Z or an offset). Without a zone it is no instant. */
const INSTANT = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/i;

export interface FormattedInstant {
  /** `2026-11-24 21:04:05.123 UTC` (milliseconds only when not zero). */
  utc: string;
  /** `2026-11-24 23:04:05 UTC+02:00`: the wall-clock time in Kyiv and its offset. */
  kyiv: string;
}

/** UTC and Kyiv local time of an RFC 3339 instant, or null when the text is no instant (show it as it is). */
export function formatInstant(value: string): FormattedInstant | null {
  if (!INSTANT.test(value)) return null;
  const date = new Date(value);
  const ms = date.getTime();
  if (Number.isNaN(ms)) return null;
  const iso = date.toISOString();
  const millis = iso.slice(20, 23);
  const utc = `${iso.slice(0, 10)} ${iso.slice(11, 19)}${millis === '000' ? '' : `.${millis}`} UTC`;
  const parts: Record<string, string> = {};
  for (const part of kyivFormat.formatToParts(date)) parts[part.type] = part.value;
  const offset = (parts.timeZoneName ?? '').replace(/^GMT/, 'UTC') || 'UTC';
  const kyiv = `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}:${parts.second} ${offset === 'UTC' ? 'UTC+00:00' : offset}`;
  return { utc, kyiv };
}

const GROUP = '\u00a0';

/** 1234567 -> "1 234 567" with no-break spaces. */
export function groupDigits(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const sign = n < 0 ? '-' : '';
  const digits = String(Math.trunc(Math.abs(n)));
  return sign + digits.replace(/\B(?=(\d{3})+(?!\d))/g, GROUP);
}

/** The Ukrainian plural of "байт" for a count. */
function bytesWordUk(n: number): string {
  const mod10 = n % 10;
  const mod100 = n % 100;
  if (mod10 === 1 && mod100 !== 11) return 'байт';
  if (mod10 >= 2 && mod10 <= 4 && (mod100 < 12 || mod100 > 14)) return 'байти';
  return 'байтів';
}

/** Exact bytes, then a binary unit: "1 234 567 байтів / bytes (1.18 MiB)". */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n) || n < 0) return String(n);
  const exact = `${groupDigits(n)} ${bytesWordUk(n)} / bytes`;
  if (n < 1024) return exact;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = n / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${exact} (${value.toFixed(2)}${GROUP}${units[unit]})`;
}

/** Signed decimal degrees. Partner copies never show more than 0.01 degree, whatever the model holds. */
export function formatPosition(lat: number, lon: number, partner: boolean): string {
  const digits = partner ? 2 : 6;
  const round = (v: number) => (partner ? Math.round(v * 100) / 100 : v);
  if (!Number.isFinite(lat) || !Number.isFinite(lon)) return `${lat}, ${lon}`;
  return `${round(lat).toFixed(digits)}, ${round(lon).toFixed(digits)}`;
}

/** A duration in seconds as "1 h 02 min 03.5 s" (or just seconds). */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return String(seconds);
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = Math.round((seconds % 60) * 10) / 10;
  const sec = `${s} с / s`;
  if (h > 0) return `${h} год / h ${String(m).padStart(2, '0')} хв / min ${sec}`;
  if (m > 0) return `${m} хв / min ${sec}`;
  return sec;
}

/** At most `max` characters, saying how many were left out. */
export function truncateText(value: string, max: number): string {
  if (value.length <= max) return value;
  const cut = value.slice(0, max).replace(/[\ud800-\udbff]$/, '');
  return `${cut}… [скорочено / truncated: ${groupDigits(value.length - cut.length)}]`;
}
