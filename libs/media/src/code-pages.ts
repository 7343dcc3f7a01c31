// Windows code pages as documents name them (an OLE property set's CodePage, RTF's \ansicpg), as
// the WHATWG encodings TextDecoder knows. Ukrainian Windows writes 1251.
const NAMED: Record<number, string> = {
  1200: 'utf-16le', 65001: 'utf-8', 20866: 'koi8-r', 21866: 'koi8-u', 10000: 'macintosh', 10007: 'x-mac-cyrillic',
  932: 'shift_jis', 936: 'gbk', 949: 'euc-kr', 950: 'big5', 866: 'ibm866', 874: 'windows-874', 28591: 'iso-8859-1', 28595: 'iso-8859-5',
};

/** A decoder for the code page; Windows-1252 with a note (under `label`) for one not known here. */
export function codePageDecoder(codePage: number, notes: string[], label: string): TextDecoder {
  const name = NAMED[codePage] ?? (codePage >= 1250 && codePage <= 1258 ? `windows-${codePage}` : null);
  try {
    if (name) return new TextDecoder(name);
  } catch {
    // An ICU-less Node knows fewer encodings.
  }
  notes.push(`${label}: code page ${codePage} is not known here; its text was read as Windows-1252`);
  return new TextDecoder('windows-1252');
}
