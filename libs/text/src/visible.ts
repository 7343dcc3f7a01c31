/**
 * Text that came from someone else (a submitter's title or file name, a package's contents, a
 * server's error) shown to a person: in a report, a terminal, a table. Nothing in it may hide
 * itself or change how the text around it is shown.
 */

/**
 * Characters that are invisible or change how surrounding text is shown: C0 and C1 controls
 * (a terminal's escape sequences start with ESC or CSI), DEL, bidirectional marks, embeddings,
 * overrides and isolates, zero-width space, word joiner, invisible operators, byte-order mark,
 * interlinear annotation and object replacement marks. ZWJ and ZWNJ stay: scripts and emoji need
 * them. Tab and line feed are left to the caller.
 */
export const HIDDEN_CHARACTERS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u180e\u200b\u200e\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb]/g;
/** An unpaired surrogate is no character at all; it would break fonts and encoders. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

function codePointTag(ch: string): string {
  return `[U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}]`;
}

/**
 * Untrusted text made visible and inert: hidden characters appear as `[U+XXXX]`, unpaired
 * surrogates as U+FFFD. Line breaks are kept only in multi-line fields (reasons, notes); tabs
 * become spaces.
 */
export function visibleText(value: string, multiline = false): string {
  let text = value.replace(LONE_SURROGATE, '\ufffd');
  text = multiline ? text.replace(/\r\n?/g, '\n') : text;
  text = text.replace(/\t/g, ' ');
  if (!multiline) text = text.replace(/[\n\r]/g, codePointTag);
  return text.replace(HIDDEN_CHARACTERS, codePointTag);
}

/**
 * JSON for a terminal or a log: the same document, with every hidden character (C1 controls and
 * bidirectional overrides included, which JSON.stringify leaves raw) written as a `\uXXXX` escape.
 */
export function terminalJson(value: unknown, space?: number): string {
  return JSON.stringify(value, null, space).replace(HIDDEN_CHARACTERS, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
