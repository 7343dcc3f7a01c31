import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { fieldMessage } from './field-messages.js';

const LIBS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../libs');

/** Messages of the API's schemas and services no console form can provoke (query strings, multipart parts, tus, jobs). */
const NOT_FROM_FORMS = new Set([
  'is not a cursor this API gave out',
  'is not a known parameter',
  'is not a part of a submission',
  'is not an accepted field name',
  'its process ended while it ran (no lease): handed back to the queue',
  'must be <= second',
  'must be >= 1',
  'must be a JSON object',
  'must be a vocabulary name such as weapon_type',
  'must be given once',
  'needs a filename parameter',
  'only one file per submission',
  'only one metadata part',
  'ready',
  'the decoder ran out of memory',
  'the file part is named "file"',
  'must be ...',
  'must be an original (/evidence/{id}/content) or a package (/exports/{id}/content), ids in lowercase',
  'must be the id of an upload (the last part of its tus Location)',
  'must be type/subtype, type/* or type/prefix*, or up to 20 of them separated by commas',
  'must be item ids separated by commas',
  'must name at most 200 items',
  'must be SHA-256 hashes (64 hex digits) separated by commas',
  'must name at most 200 hashes',
]);

/** Every fixed message a field can get from the API's code: `wrong('...')`, `message: '...'`, a check's own `'must ...'`. */
function messagesInLibs(): string[] {
  const found = new Set<string>();
  for (const file of readdirSync(LIBS, { recursive: true, encoding: 'utf8' })) {
    // libs/config's messages are the operator's, at start; libs/timestamp's go to the log.
    if (!file.endsWith('.ts') || file.endsWith('.spec.ts') || !file.includes(`${path.sep}src${path.sep}`) || /^(config|timestamp)\//.test(file)) continue;
    const source = readFileSync(path.join(LIBS, file), 'utf8');
    for (const pattern of [/wrong\('([^']+)'\)/g, /message: '([^']+)'/g, /, '((?:must|may|is) [^']+)'\)/g]) {
      for (const match of source.matchAll(pattern)) found.add(match[1]!);
    }
  }
  return [...found].filter((message) => !NOT_FROM_FORMS.has(message)).sort();
}

describe('field messages in the console', () => {
  it('has Ukrainian for every fixed message the API gives a field, and leaves English as the API wrote it', () => {
    const messages = messagesInLibs();
    // The scan finds the schemas' checks (a guard against a pattern that finds nothing).
    expect(messages).toEqual(expect.arrayContaining(['say why the record changes', 'must be a UUID', 'is not a calendar date', 'must not contain spaces, invisible or control characters']));
    expect(messages.length).toBeGreaterThan(40);
    const untranslated = messages.filter((message) => !/[а-яіїєґ]/i.test(fieldMessage(message, 'uk')));
    expect(untranslated).toEqual([]);
    for (const message of messages) expect(fieldMessage(message, 'en')).toBe(message);
  });

  it('translates the messages with numbers and names in them, keeping those', () => {
    expect(fieldMessage('must be at least 12 characters', 'uk')).toBe('кількість символів має бути не меншою за 12');
    expect(fieldMessage('must be at most 200 characters', 'uk')).toBe('кількість символів має бути не більшою за 200');
    expect(fieldMessage('must be between -90 and 90', 'uk')).toBe('має бути від -90 до 90');
    expect(fieldMessage('must be one of "killed", "injured"', 'uk')).toBe('має бути одним із: "killed", "injured"');
    expect(fieldMessage('must not be before startAt', 'uk')).toBe('не може бути раніше за startAt');
    expect(fieldMessage('obliterated is not a code of the damage_level vocabulary', 'uk')).toBe('obliterated не є кодом словника damage_level');
    expect(fieldMessage('must be 12 to 1024 characters long', 'uk')).toBe('має бути від 12 до 1024 символів');
    // parse.ts's shapes of zod's issues.
    for (const message of ['is required', 'is not a known field', 'must not be empty', 'must be a number', 'must be an integer', 'must be true or false']) {
      expect(fieldMessage(message, 'uk'), message).toMatch(/[а-яіїєґ]/i);
    }
    // A message not known yet is shown as written, not lost.
    expect(fieldMessage('something new the API says', 'uk')).toBe('something new the API says');
  });
});
