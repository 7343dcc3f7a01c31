import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { eventBytes, generateSigningKey, MemoryTree, signTreeHead, toHex as coreHex, verifyReceipt as coreVerifyReceipt, type CustodyEvent } from '#custodia/custody-core';
import { fromHex, leafHash, verifyConsistency, verifyInclusion, verifyReceipt, type ReceiptLike } from './custody-verify.js';

// The browser port runs here on Node's Web Crypto (globalThis.crypto), the same API Chromium has.

interface InclusionVector {
  source_path?: string;
  desc?: string;
  leaf_index: number;
  tree_size: number;
  leaf_hash?: string;
  leaf_data_b64?: string;
  root: string;
  proof: string[];
  expect_valid: boolean;
}
interface ConsistencyVector {
  source_path: string;
  desc: string;
  size1: number;
  size2: number;
  root1: string;
  root2: string;
  proof: string[];
  expect_valid: boolean;
}

const fixture = <T>(name: string): T => JSON.parse(readFileSync(new URL(`../../../test/fixtures/rfc9162/${name}`, import.meta.url), 'utf8')) as T;
const bytes = (hex: string) => Uint8Array.from(Buffer.from(hex, 'hex'));

describe('the browser verifier against the RFC 9162 vectors custody-core is held to', () => {
  for (const file of ['transparency-dev_inclusion.json', 'cctv_inclusion.json', 'sigstore-rekor_real_inclusion.json']) {
    it(`${file}: every inclusion vector gets its expected verdict`, async () => {
      const { vectors } = fixture<{ vectors: InclusionVector[] }>(file);
      expect(vectors.length).toBeGreaterThan(0);
      for (const v of vectors) {
        const leaf = v.leaf_data_b64 !== undefined ? await leafHash(Uint8Array.from(Buffer.from(v.leaf_data_b64, 'base64'))) : bytes(v.leaf_hash!);
        expect(await verifyInclusion(v.leaf_index, v.tree_size, leaf, v.proof.map(bytes), bytes(v.root)), `${v.source_path} ${v.desc ?? ''}`).toBe(v.expect_valid);
      }
    });
  }

  for (const file of ['transparency-dev_consistency.json', 'cctv_consistency.json']) {
    it(`${file}: every consistency vector gets custody-core's verdict (empty old trees refused)`, async () => {
      const { vectors } = fixture<{ vectors: ConsistencyVector[] }>(file);
      expect(vectors.length).toBeGreaterThan(0);
      for (const v of vectors) {
        const fullHashes = [v.root1, v.root2, ...v.proof].every((h) => h.length === 64);
        // custody-core's policy: size 0 proves nothing; non-32-byte placeholder hashes are refused.
        const expected = v.expect_valid && v.size1 > 0 && fullHashes;
        expect(await verifyConsistency(v.size1, v.size2, v.proof.map(bytes), bytes(v.root1), bytes(v.root2)), `${v.source_path} ${v.desc}`).toBe(expected);
      }
    });
  }
});

describe('receipts signed by custody-core', () => {
  const key = generateSigningKey();
  const keys = [{ keyId: key.keyId, publicKeyPem: key.publicKeyPem }];
  const tree = new MemoryTree();
  const events: CustodyEvent[] = [];
  for (let index = 0; index < 13; index++) {
    const event: CustodyEvent = {
      index,
      action: 'evidence.submitted',
      at: `2026-11-24T21:04:${String(index).padStart(2, '0')}.123Z`,
      actor: { id: 'b0b0b0b0-0000-4000-8000-000000000001', role: 'documenter' },
      caseId: 'c0c0c0c0-0000-4000-8000-000000000001',
      subject: { type: 'evidence', id: `e0e0e0e0-0000-4000-8000-0000000000${String(index).padStart(2, '0')}`, sha256: 'ab'.repeat(32) },
      details: { sizeBytes: 1000 + index, mediaType: 'image/jpeg', note: 'Харків, «Салтівка»' },
    };
    events.push(event);
    tree.append(eventBytes(event));
  }
  const head = signTreeHead({ treeSize: tree.size, rootHash: coreHex(tree.root()), timestamp: '2026-11-24T21:05:00.000Z', keyId: key.keyId }, key.privateKey);
  const receiptOf = (i: number): ReceiptLike => ({
    event: structuredClone(events[i]),
    leafHash: coreHex(tree.node(0, i)!),
    leafIndex: i,
    treeHead: { ...head },
    inclusionProof: tree.inclusionProof(i).map(coreHex),
  });

  it('verifies every receipt custody-core verifies', async () => {
    for (let i = 0; i < events.length; i++) {
      const receipt = receiptOf(i);
      expect(coreVerifyReceipt(receipt as never, keys)).toEqual({ valid: true });
      expect(await verifyReceipt(receipt, keys)).toEqual({ valid: true });
    }
  });

  it('fails a tampered event, a moved index, a flipped proof, a forged head and an unknown key, with the reason', async () => {
    const changedEvent = receiptOf(5);
    (changedEvent.event as CustodyEvent).details = { sizeBytes: 1 };
    expect(await verifyReceipt(changedEvent, keys)).toEqual({ valid: false, reason: { code: 'leafHashMismatch' } });

    const moved = receiptOf(5);
    moved.leafIndex = 6;
    expect((await verifyReceipt(moved, keys)).reason).toEqual({ code: 'wrongIndex', values: { i: 6 } });

    const flipped = receiptOf(5);
    flipped.inclusionProof[0] = coreHex(Buffer.from(fromHex(flipped.inclusionProof[0]!).map((b, i) => (i === 0 ? b ^ 1 : b))));
    expect((await verifyReceipt(flipped, keys)).reason).toEqual({ code: 'notIncluded', values: { n: flipped.treeHead.treeSize } });

    const forged = receiptOf(5);
    forged.treeHead.treeSize = 14;
    expect(await verifyReceipt(forged, keys)).toEqual({ valid: false, reason: { code: 'treeHead', cause: { code: 'signatureFails' } } });

    const other = generateSigningKey();
    expect((await verifyReceipt(receiptOf(5), [{ keyId: other.keyId, publicKeyPem: other.publicKeyPem }])).reason).toEqual({ code: 'treeHead', cause: { code: 'unknownKey', values: { k: key.keyId } } });
    // A published key under someone else's keyId is refused before any signature is trusted.
    expect((await verifyReceipt(receiptOf(5), [{ keyId: key.keyId, publicKeyPem: other.publicKeyPem }])).reason).toEqual({ code: 'treeHead', cause: { code: 'keyIdMismatch' } });
  });

  it('proves consistency between heads of the same tree, and refuses a rewritten history', async () => {
    const older = tree.root(7);
    const proof = tree.consistencyProof(7, 13);
    expect(await verifyConsistency(7, 13, proof, older, tree.root())).toBe(true);
    const rewritten = new MemoryTree();
    events.forEach((e, i) => rewritten.append(eventBytes(i === 3 ? { ...e, reason: 'changed later' } : e)));
    expect(await verifyConsistency(7, 13, rewritten.consistencyProof(7, 13), older, rewritten.root())).toBe(false);
  });
});
