import { describe, expect, it } from 'vitest';
import { eventBytes, SYSTEM_ACTOR, type CustodyEvent } from './event.js';
import { followHandovers, handoverProblem, type CarriedHandover } from './handover.js';
import { toHex } from './hash.js';
import { generateSigningKey, signTreeHead, type SigningKey } from './tree-head.js';
import { MemoryTree } from './tree.js';

const [k0, k1, k2, stranger] = [generateSigningKey(), generateSigningKey(), generateSigningKey(), generateSigningKey()] as [SigningKey, SigningKey, SigningKey, SigningKey];
const keys = [k0, k1, k2, stranger].map(({ keyId, publicKeyPem }) => ({ keyId, publicKeyPem }));
const at = '2026-12-06T07:00:00.000Z';

/** A log where k0 hands over to k1 at leaf 3 and k1 to k2 at leaf 7, then grows to 10 leaves. */
function log(): { tree: MemoryTree; events: CustodyEvent[] } {
  const tree = new MemoryTree();
  const events: CustodyEvent[] = [];
  for (let index = 0; index < 10; index++) {
    const rotation = index === 3 ? [k0, k1] : index === 7 ? [k1, k2] : null;
    const event: CustodyEvent = rotation
      ? { index, action: 'key.rotated', at, actor: SYSTEM_ACTOR, caseId: null, subject: { type: 'key', id: rotation[1]!.keyId }, details: { previousKeyId: rotation[0]!.keyId, keyId: rotation[1]!.keyId } }
      : { index, action: 'case.created', at, actor: SYSTEM_ACTOR, caseId: '9b2d4c3e-0000-4000-8000-000000000000', subject: { type: 'case', id: String(index) }, details: {} };
    events.push(event);
    tree.append(eventBytes(event));
  }
  return { tree, events };
}

function handover(tree: MemoryTree, event: CustodyEvent, by: SigningKey, laterSize = tree.size): CarriedHandover {
  const size = event.index + 1;
  const head = signTreeHead({ treeSize: size, rootHash: toHex(tree.root(size)), timestamp: at, keyId: by.keyId }, by.privateKey);
  return {
    head,
    event,
    leafIndex: event.index,
    inclusionProof: tree.inclusionProof(event.index, size).map(toHex),
    consistencyProof: size === laterSize ? [] : tree.consistencyProof(size, laterSize).map(toHex),
  };
}

describe('key handovers', () => {
  const { tree, events } = log();
  const latest = signTreeHead({ treeSize: 10, rootHash: toHex(tree.root()), timestamp: at, keyId: k2.keyId }, k2.privateKey);
  const first = handover(tree, events[3]!, k0);
  const second = handover(tree, events[7]!, k1);

  it('lead from the first key to the newest through every rotation, in any order given', () => {
    expect(handoverProblem(first, keys)).toBeUndefined();
    for (const given of [[first, second], [second, first]]) {
      const chain = followHandovers([k0.keyId], given, keys, latest);
      expect(chain.problems).toEqual([]);
      expect([...chain.trusted].sort()).toEqual([k0.keyId, k1.keyId, k2.keyId].sort());
    }
    // Trusting the middle key reaches the newest, not the one before it.
    expect([...followHandovers([k1.keyId], [first, second], keys, latest).trusted].sort()).toEqual([k1.keyId, k2.keyId].sort());
    // A broken link stops the chain there.
    expect(followHandovers([k0.keyId], [second], keys, latest).trusted).toEqual(new Set([k0.keyId]));
  });

  it('are refused when any part is not what it claims', () => {
    const cases: [string, unknown, RegExp][] = [
      ['not an object', 'x', /is not/],
      ['signed by another key than it names', { ...first, head: { ...first.head, keyId: k1.keyId } }, /head does not verify/],
      ['signed by a stranger', handover(tree, events[3]!, stranger), /retires .*, not the key that signed/],
      ['another action', handover(tree, events[4]!, k0), /case.created, not key.rotated/],
      ['a rotation that is not the last leaf', { ...first, leafIndex: 2 }, /not the last leaf/],
      ['an event changed', { ...first, event: { ...first.event, details: { ...first.event.details, keyId: stranger.keyId } } }, /inclusion proof does not lead/],
      ['a proof cut short', { ...first, inclusionProof: first.inclusionProof.slice(1) }, /inclusion proof/],
      ['no next key', { ...first, event: { ...first.event, details: { previousKeyId: k0.keyId } } }, /names no next key/],
    ];
    for (const [what, value, reason] of cases) expect(handoverProblem(value, keys), what).toMatch(reason);
  });

  it('must be of the same log as the head they lead to', () => {
    const other = log();
    other.tree.append(Buffer.from('a fork'));
    const forked = signTreeHead({ treeSize: 11, rootHash: toHex(other.tree.root()), timestamp: at, keyId: k2.keyId }, k2.privateKey);
    const chain = followHandovers([k0.keyId], [first, second], keys, forked);
    expect(chain.problems).toEqual([expect.stringMatching(/handover 0 .* consistency proof fails/), expect.stringMatching(/handover 1 .* consistency proof fails/)]);
    expect(chain.trusted).toEqual(new Set([k0.keyId]));
    const early = signTreeHead({ treeSize: 5, rootHash: toHex(tree.root(5)), timestamp: at, keyId: k1.keyId }, k1.privateKey);
    expect(followHandovers([k0.keyId], [handover(tree, events[3]!, k0, 5), second], keys, early).problems).toEqual([expect.stringMatching(/handover 1 is of a larger tree/)]);
    // A handover at the head's own size needs no proof, but the same root.
    const atHead = handover(tree, events[7]!, k1, 8);
    const head8 = signTreeHead({ treeSize: 8, rootHash: toHex(tree.root(8)), timestamp: at, keyId: k2.keyId }, k2.privateKey);
    expect(followHandovers([k1.keyId], [atHead], keys, head8).trusted.has(k2.keyId)).toBe(true);
    expect(followHandovers([k1.keyId], [atHead], keys, { ...head8, rootHash: toHex(tree.root(9)) }).problems).toHaveLength(1);
  });
});
