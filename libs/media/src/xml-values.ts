// Property values of small metadata XML documents (an XMP packet, an office document's core.xml,
// app.xml or meta.xml) by namespace URI and local name, as ExifTool's XMP reader finds them: by
// pattern, not by building a tree. The caller bounds the text it passes (at most 1 MiB).

/**
 * Values of the property `local` in namespace `uri`: an attribute, or an element's text, or the
 * items of its rdf:li list (the x-default one of a language alternative). The namespace may be
 * bound to a prefix or be the default one (`xmlns="…"`: elements only, as XML's rules say).
 */
export function xmlValues(xml: string, uri: string, local: string): string[] {
  const prefixes = new Set<string>();
  const declaration = /xmlns(?::([A-Za-z_][\w.-]*))?\s*=\s*["']([^"']*)["']/g;
  for (let m = declaration.exec(xml); m; m = declaration.exec(xml)) if (m[2] === uri) prefixes.add(m[1] ?? '');
  for (const prefix of prefixes) {
    const qname = (prefix ? `${prefix}:${local}` : local).replace(/[.]/g, '\\.');
    const attribute = prefix ? new RegExp(`\\s${qname}\\s*=\\s*"([^"]*)"|\\s${qname}\\s*=\\s*'([^']*)'`).exec(xml) : null;
    if (attribute) return [xmlText(attribute[1] ?? attribute[2]!)];
    const element = new RegExp(`<${qname}(?:\\s[^>]*)?>([\\s\\S]*?)</${qname}>`).exec(xml);
    if (!element) continue;
    const inner = element[1]!;
    const items: Array<{ lang: string | null; text: string }> = [];
    const li = /<rdf:li(\s[^>]*)?>([\s\S]*?)<\/rdf:li>/g;
    for (let m = li.exec(inner); m && items.length < 64; m = li.exec(inner)) {
      items.push({ lang: /xml:lang\s*=\s*["']([^"']*)["']/.exec(m[1] ?? '')?.[1] ?? null, text: xmlText(m[2]!) });
    }
    if (items.length === 0) return [xmlText(inner)];
    const preferred = items.find((i) => i.lang === 'x-default');
    return preferred ? [preferred.text] : items.map((i) => i.text);
  }
  return [];
}

function xmlText(raw: string): string {
  return raw
    .replace(/<[^>]*>/g, '')
    .replace(/&#x([0-9a-fA-F]{1,6});/g, (_, h: string) => safeCodePoint(parseInt(h, 16)))
    .replace(/&#(\d{1,7});/g, (_, d: string) => safeCodePoint(Number(d)))
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&')
    .trim();
}

function safeCodePoint(code: number): string {
  return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : '';
}
