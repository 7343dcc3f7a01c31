/**
 * Word forms for text search: a light stemmer for Ukrainian and Russian nouns and adjectives,
 * applied by the application to the stored text and to every query alike (see `searchText`),
 * so `шахед`, `шахеда`, `шахедом` and `шахеди` are all stored and asked as one word (`шахд`).
 *
 * It works on the spelling only (no dictionary), in four steps:
 *
 * 1. Fold: lower case, `ё` as `е`, `ґ` as `г`, apostrophes and stress marks dropped, Latin
 *    look-alike letters inside a Cyrillic word read as Cyrillic (`Харкiв` typed with a Latin `i`).
 * 2. Strip the longest case ending of the union of Ukrainian and Russian noun and adjective
 *    endings, only after the word's first vowel and leaving at least two letters.
 * 3. Undo what inflection does to the end of the stem: a final `ь`; a possessive
 *    `-ів/-ов/-ев/-їв/-єв` (`Харків`/`Харкова`, `Миколаїв`/`Миколаєва`, `Киев`); a `й` after a
 *    vowel and a final `е/є/и/ї` (`сарай`/`сараю`, `музей`/`музеї`, `батарея`/`батарей`); a
 *    final double consonant (`знищення`/`знищень`); in stems of four letters or more, a last
 *    `о/е/і/ї/є` before one final consonant (fleeting vowels `будинок`/`будинку`, alternations
 *    `Ірпінь`/`Ірпеня`, `школа`/`шкіл`); and a `ц` after a consonant read as `к`
 *    (`Салтівка`/`Салтівці`, `українець`/`українка`; not in `-ція` nouns, and not after a
 *    vowel, which keeps `вулиця` apart from `вулик`).
 * 4. Anything that is not a Cyrillic word (Latin words, numbers, mixed tokens) stays as folded.
 *
 * Measured on every form of every noun of the Ukrainian and Russian Hunspell dictionaries
 * (863,000 and 285,000 lemma-form pairs): a form has the stem of its nominative for 97.7 % of
 * Ukrainian and 97.0 % of Russian pairs (exact words: none; Snowball's Russian stemmer, the
 * server's `russian` configuration: 60 % and 87 %; the stem as a `:*` prefix: 89 % and 86 %);
 * a noun's stem is shared with 0.9 other dictionary lemmas on average, mostly derivations
 * (`житло`/`житловий`), against 11 for the prefix (`дом:*` finds `домашній`,
 * `домовленість`...). The noun list of word-forms.spec.ts holds what it must find and not find,
 * and what it does not find (suppletion such as `дитина`/`діти`, the `г/з` and `х/с`
 * alternations such as `дорога`/`дорозі`, stems of three letters such as `дім`/`дому`).
 * Changing the rules changes what is stored: ship a migration that recomputes `search_text`
 * with any change (as 1764000800000-word-forms does).
 */

const VOWELS = 'аеиоуюяіїєыэ';
const CONSONANTS = 'бвгджзйклмнпрстфхцчшщ';

/** Ukrainian and Russian noun and adjective endings, longest first. */
const ENDINGS = [
  // Ukrainian nouns
  'а я о е є у ю і ї и ам ям ах ях ами ями ом ем єм ою ею єю ові еві єві ів їв ей',
  'ія ії ію ією іям іями іях',
  // Ukrainian adjectives
  'ий ій ого ому им ім их ими ої ою ього ьому ьої ьою їй їм їх їми',
  // Russian nouns
  'ы ой ью ов ев ия ии ие ию ией ием иям иях иями ий ья ье ьи ьев ьям ьях ьями ьем ьей',
  // Russian adjectives
  'ый ая яя ое ее его ему ым ую юю ые ых ыми',
]
  .flatMap((group) => group.split(' '))
  .filter((ending, i, all) => all.indexOf(ending) === i)
  .sort((a, b) => b.length - a.length);

/** Latin letters that look like Cyrillic ones, read as Cyrillic inside a Cyrillic word. */
const LOOKALIKES: Record<string, string> = { a: 'а', c: 'с', e: 'е', i: 'і', ï: 'ї', o: 'о', p: 'р', x: 'х', y: 'у', k: 'к' };

const CYRILLIC_WORD = /^[а-яіїєґё]+$/;
const FLEETING_OR_ALTERNATING = new RegExp(`([${CONSONANTS}ь])[оеіїє]([${CONSONANTS}])$`);
const POSSESSIVE = /^(.*)[оеіїє]в$/;
const DOUBLE_CONSONANT = new RegExp(`([${CONSONANTS}])\\1$`);
const CONSONANT_TS = new RegExp(`([${CONSONANTS}ь])ц$`);
/** The endings of -ія/-ия and -ие nouns (станція, станції, станцій; станция, станций; здание). */
const IA_ENDING = /^(і[яїюєй]|и[яиюей])/;

/** Lower case and the spelling variants search ignores; the word's letters otherwise unchanged. */
export function foldWord(word: string): string {
  let w = word
    .normalize('NFD')
    .replace(/[\u0300\u0301]/g, '') // stress marks
    .normalize('NFC')
    .toLowerCase()
    .replace(/['’ʼ`]/g, '');
  if (/[а-яіїєґё]/.test(w) && /[a-zï]/.test(w)) w = w.replace(/[aceioïpxyk]/g, (c) => LOOKALIKES[c] ?? c);
  return w.replace(/ё/g, 'е').replace(/ґ/g, 'г');
}

/** The stem of one word (already split out of the text): Cyrillic words stemmed, others folded. */
export function stemWord(word: string): string {
  const w = foldWord(word);
  if (!CYRILLIC_WORD.test(w)) return w;
  // Endings start after the first vowel and leave at least two letters.
  let firstVowel = 0;
  while (firstVowel < w.length && !VOWELS.includes(w[firstVowel]!)) firstVowel++;
  const minStem = Math.max(firstVowel + 1, 2);
  let s = w;
  let stripped = '';
  for (const ending of ENDINGS) {
    if (w.length - ending.length >= minStem && w.endsWith(ending)) {
      s = w.slice(0, -ending.length);
      stripped = ending;
      break;
    }
  }
  if (s.length > 2) s = s.replace(/ь$/, '');
  const possessive = POSSESSIVE.exec(s);
  if (possessive && possessive[1]!.length >= 2) s = possessive[1]!;
  if (s.length >= 4) s = s.replace(/([аеиоуіыэ])й$/, '$1');
  if (s.length >= 4) s = s.replace(/[еєиїыэ]$/, '');
  s = s.replace(DOUBLE_CONSONANT, '$1');
  if (s.length >= 4) s = s.replace(FLEETING_OR_ALTERNATING, '$1$2');
  // -ція/-ция nouns (станція, станции) keep their ц: it never alternates there.
  return IA_ENDING.test(stripped) ? s : s.replace(CONSONANT_TS, '$1к');
}

/** The words of a text: runs of letters and digits (with their combining marks and apostrophes). */
export function words(text: string): string[] {
  return text.normalize('NFC').match(/[\p{L}\p{N}](?:[\p{L}\p{M}\p{N}]|['’ʼ`](?=\p{L}))*/gu) ?? [];
}
