import { describe, expect, it } from 'vitest';
// Through the public entry point, as the API and the verifier CLI use it.
import {
  CUSTODY_ACTIONS,
  MemoryTree,
  custodyEventProblem,
  eventBytes,
  eventLeafHash,
  generateSigningKey,
  isCustodyAction,
  proofToHex,
  signTreeHead,
  toHex,
  verifyEventsAgainstHead,
  verifyReceipt,
  type CustodyEvent,
  type Receipt,
  type SignedTreeHead,
} from './index.js';

const key = generateSigningKey();
const keys = [{ keyId: key.keyId, publicKeyPem: key.publicKeyPem }];

function event(index: number): CustodyEvent {
  return {
    index,
    action: index === 0 ? 'case.created' : 'evidence.submitted',
    at: `2026-11-24T21:04:${String(index % 60).padStart(2, '0')}.123Z`,
    actor: { id: `user-${index % 3}`, role: 'documenter' },
    caseId: '6f1c2a9e-0c7b-4c55-9d0e-3f6c1b7a8e21',
    subject: { type: 'evidence', id: `00000000-0000-4000-8000-${String(index).padStart(12, '0')}`, sha256: 'cd'.repeat(32) },
    details: { sizeBytes: 1000 + index, mediaType: 'image/jpeg', clientSha256Matched: true },
    reason: 'collected at the scene',
  };
}

const events = Array.from({ length: 13 }, (_, i) => event(i));
const tree = new MemoryTree();
for (const e of events) tree.append(eventBytes(e));
const head: SignedTreeHead = signTreeHead(
  { treeSize: tree.size, rootHash: toHex(tree.root()), timestamp: '2026-11-24T21:05:00.000Z', keyId: key.keyId },
  key.privateKey,
);

function receiptFor(index: number): Receipt {
  return {
    event: events[index],
    leafHash: toHex(eventLeafHash(events[index])),
    leafIndex: index,
    treeHead: head,
    inclusionProof: proofToHex(tree.inclusionProof(index)),
  };
}

/** Every way of changing one field of an event, nested fields included. */
function tamperings(e: CustodyEvent): [string, CustodyEvent][] {
  const { reason: _reason, ...withoutReason } = e;
  return [
    ['index', { ...e, index: e.index + 1 }],
    ['action', { ...e, action: 'evidence.viewed' }],
    ['at', { ...e, at: '2026-11-24T21:04:05.124Z' }],
    ['actor.id', { ...e, actor: { ...e.actor, id: 'someone-else' } }],
    ['actor.role', { ...e, actor: { ...e.actor, role: 'admin' } }],
    ['caseId', { ...e, caseId: '6f1c2a9e-0c7b-4c55-9d0e-3f6c1b7a8e22' }],
    ['subject.type', { ...e, subject: { ...e.subject, type: 'incident' } }],
    ['subject.id', { ...e, subject: { ...e.subject, id: 'other' } }],
    ['subject.sha256', { ...e, subject: { ...e.subject, sha256: 'ce' + 'cd'.repeat(31) } }],
    ['subject.sha256 removed', { ...e, subject: { type: e.subject.type, id: e.subject.id } }],
    ['details value', { ...e, details: { ...e.details, sizeBytes: 1 } }],
    ['details type', { ...e, details: { ...e.details, sizeBytes: String(e.details.sizeBytes) } }],
    ['details added', { ...e, details: { ...e.details, note: 'x' } }],
    ['reason', { ...e, reason: 'collected at the scene.' }],
    ['reason removed', withoutReason],
    ['extra field', { ...e, extra: 1 } as CustodyEvent],
  ];
}

describe('receipts', () => {
  it('verify for every event of the log', () => {
    for (let i = 0; i < events.length; i++) expect(verifyReceipt(receiptFor(i), keys), `leaf ${i}`).toEqual({ valid: true });
  });

  it('fail when any field of the event is changed', () => {
    for (const index of [0, 5, 12]) {
      for (const [field, tampered] of tamperings(events[index])) {
        expect(verifyReceipt({ ...receiptFor(index), event: tampered }, keys).valid, `${field} of ${index}`).toBe(false);
        // Even with the leaf hash recomputed to match, the proof and head still bind the original event.
        const rehashed = { ...receiptFor(index), event: tampered, leafHash: toHex(eventLeafHash(tampered)) };
        expect(verifyReceipt(rehashed, keys).valid, `${field} of ${index}, rehashed`).toBe(false);
      }
    }
  });

  it('fail when the leaf hash, index, proof or head is changed', () => {
    const r = receiptFor(5);
    const cases: [string, Receipt][] = [
      ['leafHash', { ...r, leafHash: toHex(eventLeafHash(events[6])) }],
      ['leafHash not hex', { ...r, leafHash: r.leafHash.toUpperCase() }],
      ['leafIndex', { ...r, leafIndex: 6 }],
      ['another leaf proof', { ...r, inclusionProof: receiptFor(6).inclusionProof }],
      ['proof truncated', { ...r, inclusionProof: r.inclusionProof.slice(1) }],
      ['proof element', { ...r, inclusionProof: [toHex(eventLeafHash(events[0])), ...r.inclusionProof.slice(1)] }],
      ['proof not hex', { ...r, inclusionProof: r.inclusionProof.map((p) => p.slice(2)) }],
      ['head size', { ...r, treeHead: { ...head, treeSize: 14 } }],
      ['head root', { ...r, treeHead: { ...head, rootHash: toHex(tree.root(12)) } }],
      ['head signature', { ...r, treeHead: { ...head, signature: signTreeHead({ ...head, treeSize: 12 }, key.privateKey).signature } }],
    ];
    for (const [what, receipt] of cases) expect(verifyReceipt(receipt, keys).valid, what).toBe(false);
  });

  it('fail under a head signed with an unpublished key, even one naming itself honestly', () => {
    const other = generateSigningKey();
    const foreignHead = signTreeHead({ ...head, keyId: other.keyId }, other.privateKey);
    expect(verifyReceipt({ ...receiptFor(3), treeHead: foreignHead }, keys)).toMatchObject({ valid: false, reason: expect.stringMatching(/^tree head: /) });
  });

  it('do not depend on the action being known to this version', () => {
    const future = { ...event(0), action: 'evidence.future_action' } as unknown as CustodyEvent;
    const t = new MemoryTree();
    t.append(eventBytes(future));
    const h = signTreeHead({ treeSize: 1, rootHash: toHex(t.root()), timestamp: '2026-11-24T21:05:00.000Z', keyId: key.keyId }, key.privateKey);
    const receipt: Receipt = { event: future, leafHash: toHex(eventLeafHash(future)), leafIndex: 0, treeHead: h, inclusionProof: [] };
    expect(verifyReceipt(receipt, keys)).toEqual({ valid: true });
  });
});

describe('verifyEventsAgainstHead', () => {
  const items = events.map((e, i) => ({ event: e, leafIndex: i, proof: proofToHex(tree.inclusionProof(i)) }));

  it('reports every event included under a valid head', () => {
    const report = verifyEventsAgainstHead(items, head, keys, { trustedKeyId: key.keyId });
    expect(report.valid).toBe(true);
    expect(report.head).toEqual({ valid: true });
    expect(report.firstFailure).toBeUndefined();
    expect(report.items.every((i) => i.included && i.leafHashMatches && i.indexMatches && !i.reason)).toBe(true);
  });

  it('names each tampered event and the first failure', () => {
    const tampered = items.map((item) => ({ ...item }));
    tampered[4] = { ...tampered[4], event: { ...tampered[4].event, reason: 'edited' } };
    tampered[9] = { ...tampered[9], leafIndex: 10 };
    const report = verifyEventsAgainstHead(tampered, head, keys);
    expect(report.valid).toBe(false);
    expect(report.head.valid).toBe(true);
    expect(report.items.filter((i) => !i.included).map((i) => i.leafIndex)).toEqual([4, 10]);
    expect(report.items[9]).toMatchObject({ indexMatches: false, included: false });
    expect(report.firstFailure).toMatch(/^leaf 4: /);
  });

  it('checks a supplied leaf hash against the event', () => {
    const withHashes = items.map((item) => ({ ...item, leafHash: toHex(eventLeafHash(item.event)) }));
    expect(verifyEventsAgainstHead(withHashes, head, keys).valid).toBe(true);
    withHashes[2] = { ...withHashes[2], leafHash: withHashes[3].leafHash };
    const report = verifyEventsAgainstHead(withHashes, head, keys);
    expect(report.items[2]).toMatchObject({ leafHashMatches: false, included: true });
    expect(report.firstFailure).toMatch(/^leaf 2: leaf hash/);
  });

  it('fails the whole report on a bad head or an untrusted key', () => {
    const badHead = verifyEventsAgainstHead(items, { ...head, treeSize: 12 }, keys);
    expect(badHead).toMatchObject({ valid: false, head: { valid: false } });
    expect(badHead.firstFailure).toMatch(/^tree head: /);
    const untrusted = verifyEventsAgainstHead(items, head, keys, { trustedKeyId: 'ef'.repeat(32) });
    expect(untrusted).toMatchObject({ valid: false, head: { valid: false, reason: expect.stringMatching(/not the trusted key/) } });
  });

  it('reports an event that cannot be canonicalised instead of throwing', () => {
    const broken = [{ ...items[0], event: { ...items[0].event, details: { n: NaN } } }];
    const report = verifyEventsAgainstHead(broken, head, keys);
    expect(report.valid).toBe(false);
    expect(report.items[0].reason).toMatch(/canonicalised/);
  });
});

describe('custody events', () => {
  it('have a closed, dotted, duplicate-free vocabulary', () => {
    expect(new Set(CUSTODY_ACTIONS).size).toBe(CUSTODY_ACTIONS.length);
    expect(CUSTODY_ACTIONS).toHaveLength(37);
    for (const action of CUSTODY_ACTIONS) expect(action).toMatch(/^[a-z]+\.[a-z_]+$/);
    expect(isCustodyAction('evidence.submitted')).toBe(true);
    expect(isCustodyAction('evidence.deleted')).toBe(false);
  });

  it('validate before appending', () => {
    expect(custodyEventProblem(event(1))).toBeUndefined();
    const { reason: _reason, ...noReason } = event(1);
    expect(custodyEventProblem(noReason)).toBeUndefined();
    expect(custodyEventProblem({ ...event(1), subject: { type: 'case', id: 'c' } })).toBeUndefined();
    for (const [field, tampered] of [
      ['action', { ...event(1), action: 'evidence.deleted' }],
      ['at', { ...event(1), at: '2026-11-24 21:04:05' }],
      ['index', { ...event(1), index: -1 }],
      ['actor', { ...event(1), actor: { id: 'u' } }],
      ['caseId', { ...event(1), caseId: '' }],
      ['subject.sha256', { ...event(1), subject: { type: 'evidence', id: 'e', sha256: 'xyz' } }],
      ['details', { ...event(1), details: [] }],
      ['details NaN', { ...event(1), details: { n: NaN } }],
      ['extra', { ...event(1), location: 'secret' }],
    ] as const) {
      expect(custodyEventProblem(tampered), field).toBeDefined();
    }
  });

  it('hash their RFC 8785 bytes as leaves', () => {
    expect(eventBytes(event(2)).toString()).toBe(
      '{"action":"evidence.submitted","actor":{"id":"user-2","role":"documenter"},"at":"2026-11-24T21:04:02.123Z",' +
        '"caseId":"6f1c2a9e-0c7b-4c55-9d0e-3f6c1b7a8e21",' +
        '"details":{"clientSha256Matched":true,"mediaType":"image/jpeg","sizeBytes":1002},"index":2,' +
        `"reason":"collected at the scene","subject":{"id":"00000000-0000-4000-8000-000000000002","sha256":"${'cd'.repeat(32)}","type":"evidence"}}`,
    );
  });
});
