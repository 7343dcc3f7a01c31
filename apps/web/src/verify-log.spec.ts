import { describe, expect, it } from 'vitest';
import { failed } from './custody-verify.js';
import { makeI18n } from './i18n.js';
import { reasonText } from './verify-log.js';

describe('reasonText', () => {
  const [en, uk] = [makeI18n('en', []).t, makeI18n('uk', []).t];

  it('says why a check failed in the console\'s language, the failed part first', () => {
    const reason = failed('event', { i: 12 }, failed('treeHead', undefined, failed('signatureFails').reason).reason).reason;
    expect(reasonText(reason, en)).toBe('event 12: tree head: the Ed25519 signature does not verify');
    expect(reasonText(reason, uk)).toBe('запис 12: вершина дерева: підпис Ed25519 не проходить перевірку');
    const fork = failed('notConsistent', { latest: 40, n: 41 }).reason;
    expect(reasonText(fork, uk)).toBe('журнал розміром 40 не продовжує вершину розміром 41 (доказ узгодженості не проходить)');
  });

  it('keeps values as text, and says nothing of a verdict without a reason', () => {
    const named = failed('unknownKey', { k: '<b>key</b>' }).reason;
    expect(reasonText(named, en)).toBe('no published key <b>key</b>');
    expect(reasonText(undefined, uk)).toBe('');
  });
});
