import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { proofToHex, signTreeHead, toHex, type SignedTreeHead } from '#custodia/custody-core';
import { apiBase, loadLaterHead } from './later-head.js';
import { HEAD_SIZE, custody, keyA } from './test-support/synthetic-bag.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'custodia-later-head-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const { tree, head } = custody();
const packageHead: SignedTreeHead = signTreeHead(head, keyA.privateKey);
const laterHead: SignedTreeHead = signTreeHead({ treeSize: tree.size, rootHash: toHex(tree.root()), timestamp: '2026-11-25T10:00:00.000Z', keyId: keyA.keyId }, keyA.privateKey);
const proof = proofToHex(tree.consistencyProof(HEAD_SIZE));
const keys = [{ keyId: keyA.keyId, algorithm: 'Ed25519', publicKeyPem: keyA.publicKeyPem, activeFrom: '2026-11-24T09:40:05.123Z', activeTo: null }];

describe('apiBase', () => {
  it.each([
    ['https://a.org', 'https://a.org/api/v1'],
    ['https://a.org/', 'https://a.org/api/v1'],
    ['https://a.org/api/v1', 'https://a.org/api/v1'],
    ['https://a.org/api/v1/', 'https://a.org/api/v1'],
    ['https://a.org/sub/api/v1/?x=1#y', 'https://a.org/sub/api/v1'],
    ['https://a.org/sub/?x=1', 'https://a.org/sub/api/v1'],
  ])('reads %s as %s', (address, base) => {
    expect(apiBase(address).href).toBe(base);
  });

  it('refuses what is not a URL', () => {
    expect(() => apiBase('archive.example.org')).toThrow();
  });
});

describe('loadLaterHead from an archive', () => {
  /** A fetch that answers from a table of URLs and records what was asked. */
  function fakeFetch(answers: Record<string, unknown>, status = 200) {
    const asked: string[] = [];
    const fetchImpl = (async (input: string | URL | Request, init?: RequestInit) => {
      const url = input instanceof URL ? input.href : String(input);
      asked.push(url);
      expect(new Headers(init?.headers).get('accept')).toBe('application/json');
      if (!(url in answers)) return new Response('not found', { status: 404 });
      return new Response(JSON.stringify(answers[url]), { status, headers: { 'content-type': 'application/json' } });
    }) as typeof fetch;
    return { fetchImpl, asked };
  }

  it('fetches the newest head, the keys and the consistency proof from the package head to it', async () => {
    const consistency = `https://a.org/sub/api/v1/log/proofs/consistency?first=${HEAD_SIZE}&second=${HEAD_SIZE + 1}`;
    const { fetchImpl, asked } = fakeFetch({
      'https://a.org/sub/api/v1/log/tree-head': laterHead,
      'https://a.org/sub/api/v1/log/keys': keys,
      [consistency]: { first: HEAD_SIZE, second: HEAD_SIZE + 1, proof },
    });
    const later = await loadLaterHead('https://a.org/sub/?x=1', packageHead, fetchImpl);
    expect(asked).toEqual(['https://a.org/sub/api/v1/log/tree-head', 'https://a.org/sub/api/v1/log/keys', consistency]);
    expect(later).toEqual({ head: laterHead, consistencyProof: proof, keys, handovers: [], source: 'https://a.org', exportEvent: expect.any(Function) });
  });

  it('fetches no proof when the newest head has the package head’s size', async () => {
    const { fetchImpl, asked } = fakeFetch({ 'https://a.org/api/v1/log/tree-head': packageHead, 'https://a.org/api/v1/log/keys': keys });
    const later = await loadLaterHead('https://a.org/api/v1', packageHead, fetchImpl);
    expect(asked).toEqual(['https://a.org/api/v1/log/tree-head', 'https://a.org/api/v1/log/keys']);
    expect(later).toEqual({ head: packageHead, consistencyProof: [], keys, handovers: [], source: 'https://a.org', exportEvent: expect.any(Function) });
  });

  it('takes keys that are not a list as none', async () => {
    const { fetchImpl } = fakeFetch({ 'https://a.org/api/v1/log/tree-head': packageHead, 'https://a.org/api/v1/log/keys': { keys } });
    expect((await loadLaterHead('https://a.org', packageHead, fetchImpl)).keys).toEqual([]);
  });

  it('fails with the URL and status of an answer that is not ok', async () => {
    const { fetchImpl } = fakeFetch({ 'https://a.org/api/v1/log/tree-head': {} }, 503);
    await expect(loadLaterHead('https://a.org', packageHead, fetchImpl)).rejects.toThrow('https://a.org/api/v1/log/tree-head answered HTTP 503');
  });

  it('follows no redirect: the archive checked is the one named', async () => {
    const asked: string[] = [];
    const fetchImpl = (async (input: string | URL | Request, init?: RequestInit) => {
      asked.push(String(input));
      expect(init?.redirect).toBe('manual');
      return new Response(null, { status: 302, headers: { Location: 'https://elsewhere.example/api/v1/log/tree-head' } });
    }) as typeof fetch;
    await expect(loadLaterHead('https://a.org', packageHead, fetchImpl)).rejects.toThrow('https://a.org/api/v1/log/tree-head answered HTTP 302, a redirect (not followed)');
    expect(asked).toEqual(['https://a.org/api/v1/log/tree-head']);
  });

  it('stops reading an answer past 4 MiB as it arrives', async () => {
    let sent = 0;
    const endless = new ReadableStream<Uint8Array>({
      pull(controller) {
        sent += 65_536;
        controller.enqueue(new Uint8Array(65_536).fill(0x20));
      },
    });
    const fetchImpl = (async () => new Response(endless, { status: 200 })) as unknown as typeof fetch;
    await expect(loadLaterHead('https://a.org', packageHead, fetchImpl)).rejects.toThrow('sent more than 4194304 bytes');
    expect(sent).toBeLessThan(8 * 1024 * 1024);
  });
});

describe('loadLaterHead from a file', () => {
  const file = async (name: string, value: unknown): Promise<string> => {
    const at = path.join(dir, name);
    await writeFile(at, JSON.stringify(value));
    return at;
  };

  it('reads { treeHead, consistencyProof, keys }', async () => {
    const at = await file('full.json', { treeHead: laterHead, consistencyProof: proof, keys });
    expect(await loadLaterHead(at, packageHead)).toEqual({ head: laterHead, consistencyProof: proof, keys, handovers: [], source: at });
  });

  it('reads { treeHead, consistency: { proof } } (the API answers side by side)', async () => {
    const at = await file('api.json', { treeHead: laterHead, consistency: { first: HEAD_SIZE, second: HEAD_SIZE + 1, proof } });
    expect(await loadLaterHead(at, packageHead)).toEqual({ head: laterHead, consistencyProof: proof, keys: [], handovers: [], source: at });
  });

  it('reads a bare signed head, with no proof and no keys', async () => {
    const at = await file('bare.json', packageHead);
    expect(await loadLaterHead(at, packageHead)).toEqual({ head: packageHead, consistencyProof: [], keys: [], handovers: [], source: at });
  });

  it('fails on a file that does not exist or is not JSON', async () => {
    await expect(loadLaterHead(path.join(dir, 'none.json'), packageHead)).rejects.toThrow(/ENOENT/);
    const at = path.join(dir, 'broken.json');
    await writeFile(at, '{"treeHead":');
    await expect(loadLaterHead(at, packageHead)).rejects.toThrow(SyntaxError);
  });
});
