/**
 * Known serial-number schemes of munitions (issue 14): a serial as read is parsed into its parts
 * where one applies, so serials of one production line can be counted and analysed. Pure: no
 * NestJS, no database. Keep the registry small; add a scheme only with its source.
 *
 * A scheme is data: a prefix and the ways it is read (`prefixReadings`, after upper-casing),
 * then a series and a sequence number, each of a number of digits, separated by `.`, `-`, `/`
 * or spaces. Parsing is forgiving where readers err (Latin W or III for Cyrillic Ш, O for 0 in
 * the digits, any separator) and strict where the parts would become ambiguous (a separator is
 * required between series and number).
 */
export interface SerialScheme {
  /** Stable identifier, stored in records (`serialParts.scheme`). */
  id: string;
  /** What it numbers, in words. */
  label: string;
  /** The weapon type whose production it counts (weapon_type vocabulary). */
  weaponType: string;
  /** Components that carry it (munition_component vocabulary); null: any component. */
  components: readonly string[] | null;
  /** The canonical prefix, as stored. */
  prefix: string;
  /** How the prefix is written or mis-read, upper case, as literal text. */
  prefixReadings: readonly string[];
  seriesDigits: readonly [min: number, max: number];
  numberDigits: readonly [min: number, max: number];
  /** Where the scheme is known from, and what is assumed about it. */
  basis: string;
}

/**
 * The registry. Both entries rest on open-source photographs of Geran-2 / Geran-1 wreckage
 * (Ukrainian defence reporting and investigators' publications 2023-2025) showing stencilled
 * airframe markings of the form `Ш136.02.345`: `Ш` for Shahed, the model number, then two
 * numbers. ASSUMPTIONS, not established facts: that the second group is a production series
 * (batch) and the third a sequence number counting airframes from 1 within that series without
 * gaps or reuse. The German tank estimate of a series is only as good as these assumptions;
 * investigators who learn otherwise change the scheme here (records keep the scheme they were
 * parsed with, and are re-parsed when amended).
 */
export const SERIAL_SCHEMES: readonly SerialScheme[] = [
  {
    id: 'geran2_airframe',
    label: 'Shahed-136 / Geran-2 airframe serial (Ш136.<series>.<number>)',
    weaponType: 'uav.owa.shahed_136',
    components: ['airframe'],
    prefix: 'Ш136',
    prefixReadings: ['Ш136', 'Щ136', 'W136', 'III136', 'SH136', 'Ш-136', 'W-136'],
    seriesDigits: [1, 3],
    numberDigits: [1, 6],
    basis:
      'Open-source photographs of Geran-2 airframes (stencilled Ш136.NN.NNN). Assumed: the middle group is a production series and the last an airframe sequence number from 1 within it.',
  },
  {
    id: 'geran1_airframe',
    label: 'Shahed-131 / Geran-1 airframe serial (Ш131.<series>.<number>)',
    weaponType: 'uav.owa.shahed_131',
    components: ['airframe'],
    prefix: 'Ш131',
    prefixReadings: ['Ш131', 'Щ131', 'W131', 'III131', 'SH131', 'Ш-131', 'W-131'],
    seriesDigits: [1, 3],
    numberDigits: [1, 6],
    basis: 'By analogy with the Geran-2 scheme (assumed, fewer published examples): Ш131.NN.NNN, series then sequence number.',
  },
];

/** The parts of a serial read under a known scheme. */
export interface SerialParts {
  scheme: string;
  prefix: string;
  series: string;
  number: number;
}

/** A reading as a literal in a Unicode regular expression. */
const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const compiled = SERIAL_SCHEMES.map((scheme) => ({
  scheme,
  pattern: new RegExp(
    `^(?:${scheme.prefixReadings.map(escape).join('|')})[.\\-/ ]*([0-9O]{${scheme.seriesDigits[0]},${scheme.seriesDigits[1]}})[.\\-/ ]+([0-9O]{${scheme.numberDigits[0]},${scheme.numberDigits[1]}})$`,
    'u',
  ),
}));

/** Whether two hierarchical codes are one the other's narrower or broader term (or equal). */
function related(a: string, b: string): boolean {
  return a === b || a.startsWith(`${b}.`) || b.startsWith(`${a}.`);
}

/**
 * The parts of `serial` under the first scheme that applies to a remnant of this weapon type
 * and component (either may be unknown), or null. The series keeps its digits as read
 * (`02`); the number is an integer.
 */
export function parseSerial(serial: string | null, context: { weaponType: string | null; component: string | null }): SerialParts | null {
  if (!serial) return null;
  const read = serial.normalize('NFKC').trim().toUpperCase().replace(/\s+/g, ' ');
  for (const { scheme, pattern } of compiled) {
    if (context.weaponType && !related(context.weaponType, scheme.weaponType)) continue;
    if (context.component && scheme.components && !scheme.components.some((c) => related(c, context.component!))) continue;
    const match = pattern.exec(read);
    if (!match) continue;
    const digits = (group: string): string => group.replace(/O/g, '0');
    const number = Number(digits(match[2]!));
    if (number < 1) continue;
    return { scheme: scheme.id, prefix: scheme.prefix, series: digits(match[1]!), number };
  }
  return null;
}

/** The scheme of this id, if it is known. */
export function serialScheme(id: string): SerialScheme | undefined {
  return SERIAL_SCHEMES.find((scheme) => scheme.id === id);
}
