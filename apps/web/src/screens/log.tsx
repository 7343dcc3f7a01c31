import { useEffect, useId, useRef, useState } from 'react';
import { get, type CaseView, type CustodyEvent, type TreeHead } from '../api.js';
import { verifyTreeHead, type PublishedKey } from '../custody-verify.js';
import { contentLang, useI18n, type MessageKey } from '../i18n.js';
import { ActionName, ErrorNote, errorText, Link, Select, shown } from '../ui.js';
import { checkLogGrewFrom, uncheckable, type Check } from '../verify-log.js';
import { VerdictLine } from './evidence.js';

/** For auditors: the latest head and the kept ones, the entries they may see, each head checkable here. */
/** Entries shown at once, and read back a page at a time. */
const PAGE = 50;

type Entry = { leafIndex: number; leafHash: string; event?: CustodyEvent | null };

/** A signing key as GET /log/keys gives it (what the screen shows of it). */
interface LogKey {
  keyId: string;
  activeFrom: string;
  activeTo: string | null;
  compromisedAt: string | null;
  handover: { event: { details: Record<string, unknown> } } | null;
}

export function LogScreen() {
  const headsId = useId();
  const entriesId = useId();
  const keysId = useId();
  const [keys, setKeys] = useState<LogKey[]>([]);
  const { t, instant, number, lang } = useI18n();
  const [head, setHead] = useState<TreeHead | null>(null);
  const [heads, setHeads] = useState<TreeHead[]>([]);
  const [entries, setEntries] = useState<Entry[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [checks, setChecks] = useState<Record<number, Check>>({});
  const [loadingEarlier, setLoadingEarlier] = useState(false);
  // The case whose entries alone are shown ('' for the whole log), and where its next page starts.
  const [cases, setCases] = useState<CaseView[]>([]);
  const [caseId, setCaseId] = useState('');
  const [nextBefore, setNextBefore] = useState<number | null>(null);
  const chosen = useRef('');
  // start..end, both included (as the API reads them).
  /** The whole log's page below leaf `before`, newest first. */
  const logPageBelow = async (before: number): Promise<Entry[]> =>
    before <= 0 ? [] : (await get<Entry[]>(`/log/entries?start=${Math.max(0, before - PAGE)}&end=${before - 1}`)).reverse();
  const caseEntries = (id: string, before: number | null) =>
    get<{ items: Entry[]; nextBefore: number | null }>(`/log/cases/${id}?limit=${PAGE}${before === null ? '' : `&before=${before}`}`);

  /** The page of entries before the oldest shown: the log (or the case's entries) read back to the first. */
  async function earlier() {
    const oldest = entries[entries.length - 1]?.leafIndex ?? 0;
    setLoadingEarlier(true);
    try {
      const asked = chosen.current;
      const page = asked ? await caseEntries(asked, nextBefore) : { items: await logPageBelow(oldest), nextBefore: null };
      if (chosen.current !== asked) return;
      setNextBefore(page.nextBefore);
      setEntries((shown) => [...shown, ...page.items]);
    } catch (e) {
      setError(e);
    } finally {
      setLoadingEarlier(false);
    }
  }

  /** The whole log's latest entries, or one case's. */
  async function show(id: string) {
    setCaseId(id);
    chosen.current = id;
    setError(null);
    try {
      const page = id
        ? await caseEntries(id, null)
        : { items: await logPageBelow(head?.treeSize ?? 0), nextBefore: null };
      // An answer for a choice made before the last one is dropped.
      if (chosen.current !== id) return;
      setNextBefore(page.nextBefore);
      setEntries(page.items);
    } catch (e) {
      setError(e);
    }
  }

  useEffect(() => {
    void (async () => {
      try {
        const latest = await get<TreeHead>('/log/tree-head');
        setHead(latest);
        setHeads(await get<TreeHead[]>(`/log/tree-heads?from=${Math.max(0, latest.treeSize - 50)}&limit=50`));
        setEntries(await logPageBelow(latest.treeSize));
        setKeys(await get<LogKey[]>('/log/keys'));
        setCases(await get<CaseView[]>('/cases'));
      } catch (e) {
        setError(e);
      }
    })();
  }, []);

  async function check(h: TreeHead) {
    const started = performance.now();
    let result: Check;
    try {
      const keys = await get<PublishedKey[]>('/log/keys');
      let verdict = await verifyTreeHead(h, keys);
      if (verdict.valid) verdict = await checkLogGrewFrom(h, keys);
      result = { ...verdict, events: h.treeSize, ms: Math.round(performance.now() - started) };
    } catch (e) {
      result = uncheckable(errorText(e, t));
    }
    setChecks((all) => ({ ...all, [h.treeSize]: result }));
  }

  return (
    <section aria-labelledby="log-title">
      <h1 id="log-title">{t('log.title')}</h1>
      <ErrorNote error={error} />
      {head && (
        <dl className="facts">
          <dt>{t('log.size')}</dt>
          <dd>{number(head.treeSize)}</dd>
          <dt>{t('log.root')}</dt>
          <dd className="hash">{head.rootHash}</dd>
          <dt>{t('item.when')}</dt>
          <dd>{instant(head.timestamp)}</dd>
          <dt>{t('log.key')}</dt>
          <dd className="hash">{head.keyId}</dd>
        </dl>
      )}
      {keys.length > 0 && (
        <>
          <h2 id={keysId}>{t('log.keys')}</h2>
          <p className="hint">{t('log.keysHint')}</p>
          <table aria-labelledby={keysId} className="keys">
            <thead>
              <tr>
                <th scope="col">{t('log.key')}</th>
                <th scope="col">{t('log.keyFrom')}</th>
                <th scope="col">{t('log.keyTo')}</th>
                <th scope="col">{t('log.keyState')}</th>
              </tr>
            </thead>
            <tbody>
              {keys.map((k) => (
                <tr key={k.keyId} data-key-state={k.compromisedAt ? 'compromised' : k.activeTo ? 'retired' : 'active'}>
                  <td className="hash">{k.keyId}</td>
                  <td>{instant(k.activeFrom)}</td>
                  <td>{k.activeTo ? instant(k.activeTo) : '—'}</td>
                  <td>
                    {k.compromisedAt
                      ? t('log.keyCompromised', { at: instant(k.compromisedAt) })
                      : !k.activeTo
                        ? t('log.keyActive')
                        : k.handover
                          ? t('log.keyHandedOver', { key: String(k.handover.event.details['keyId']).slice(0, 16) })
                          : t('log.keyRetired')}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
      <h2 id={headsId}>{t('log.heads')}</h2>
      <table aria-labelledby={headsId}>
        <thead>
          <tr>
            <th scope="col">{t('log.size')}</th>
            <th scope="col">{t('item.when')}</th>
            <th scope="col">{t('log.root')}</th>
            <th scope="col">
              <span className="visually-hidden">{t('log.checkHead')}</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {heads
            .slice()
            .reverse()
            .map((h) => (
              <tr key={`${h.treeSize}-${h.timestamp}`}>
                <td>{number(h.treeSize)}</td>
                <td>{instant(h.timestamp)}</td>
                <td className="hash">{h.rootHash.slice(0, 16)}…</td>
                <td>
                  <button type="button" onClick={() => check(h)} aria-label={`${t('log.checkHead')} ${h.treeSize}`}>
                    {t('log.checkHead')}
                  </button>
                  <VerdictLine result={checks[h.treeSize] ?? null} />
                </td>
              </tr>
            ))}
        </tbody>
      </table>
      <h2 id={entriesId}>{t('log.entries')}</h2>
      {cases.length > 0 && (
        <div className="narrow">
          <Select label={t('log.case')} value={caseId} onChange={(e) => void show(e.target.value)}>
            <option value="">{t('log.allCases')}</option>
            {cases.map((c) => (
              <option key={c.id} value={c.id} lang={contentLang(c.title, lang)}>
                {shown(c.title)}
              </option>
            ))}
          </Select>
        </div>
      )}
      <table aria-labelledby={entriesId}>
        <thead>
          <tr>
            <th scope="col">{t('item.leaf')}</th>
            <th scope="col">{t('item.action')}</th>
            <th scope="col">{t('log.subject')}</th>
            <th scope="col">{t('item.when')}</th>
          </tr>
        </thead>
        <tbody>
          {entries.map((e) => (
            <tr key={e.leafIndex}>
              <td>{e.leafIndex}</td>
              <td>
                {e.event ? <ActionName action={e.event.action} /> : <span className="hash">{e.leafHash.slice(0, 16)}…</span>}
                {/* A remnant's physical chain of custody is open to auditors too. */}
                {/* An item's custody, and Verify, for auditors too (never its content). */}
                {e.event?.subject.type === 'evidence' && (
                  <>
                    {' '}
                    <Link href={`/evidence/${e.event.subject.id}/custody`} aria-label={t('log.linkOf', { what: t('custody.link'), subject: e.event.subject.id.slice(0, 8), n: e.leafIndex })}>
                      {t('custody.link')}
                    </Link>
                  </>
                )}
                {e.event?.subject.type === 'remnant' && (
                  <>
                    {' '}
                    <Link href={`/remnants/${e.event.subject.id}`} aria-label={t('log.linkOf', { what: t('remnant.custody'), subject: e.event.subject.id.slice(0, 8), n: e.leafIndex })}>
                      {t('remnant.custody')}
                    </Link>
                  </>
                )}
              </td>
              <td>{e.event ? <SubjectName type={e.event.subject.type} id={e.event.subject.id} /> : '—'}</td>
              <td>{e.event ? instant(e.event.at) : '—'}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {(caseId ? nextBefore !== null : (entries[entries.length - 1]?.leafIndex ?? 0) > 0) && (
        <button type="button" onClick={earlier} disabled={loadingEarlier}>
          {t('log.earlier')}
        </button>
      )}
    </section>
  );
}

/** What an event is about, in the reader's language (a type this console does not know, as it is), and the start of its id. */
function SubjectName({ type, id }: { type: string; id: string }) {
  const { t } = useI18n();
  const key = `subject.${type}` as MessageKey;
  const name = t(key);
  return (
    <>
      {name === key ? type : name} <span className="hash">{id.slice(0, 8)}</span>
    </>
  );
}
