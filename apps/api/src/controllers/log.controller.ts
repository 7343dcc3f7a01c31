import { Controller, Get, Param } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { CurrentActor, Permit, PublicLog, scopeOf, type Actor } from '#custodia/auth';
import { CasesService } from '#custodia/cases';
import {
  CaseLogPage,
  CaseLogQuery,
  ConsistencyProof,
  ConsistencyQuery,
  CustodyLog,
  InclusionProof,
  InclusionQuery,
  LeavesQuery,
  LogEntrySchema,
  LogKey,
  LogLeaf,
  SignedTreeHead,
  SigningKeys,
  TreeHeadsQuery,
  TreeHeads,
  type KeptTreeHead,
  type LogEntry,
  type LogReader,
  type LogKeyView,
} from '#custodia/custody';
import type { KeyHandover } from '#custodia/custody-core';
import { unprocessable } from '#custodia/errors';
import { z } from '#custodia/schema';
import { Endpoint, ValidQuery } from '../http/endpoint.js';
import { uuidParam } from '../http/params.js';

/**
 * The custody log for auditors and outside monitors: heads, keys, leaf hashes and proofs are
 * public (CUSTODIA_PUBLIC_LOG); the events themselves only to those who may see them.
 */
@ApiTags('custody log')
@Controller('log')
export class LogController {
  constructor(
    private readonly log: CustodyLog,
    private readonly heads: TreeHeads,
    private readonly keys: SigningKeys,
    private readonly cases: CasesService,
  ) {}

  private async signedSize(): Promise<number> {
    return (await this.heads.latest())?.treeSize ?? 0;
  }

  @Get('tree-head')
  @PublicLog()
  @Endpoint({ operationId: 'getTreeHead', summary: 'The newest signed tree head', response: SignedTreeHead })
  async treeHead(): Promise<KeptTreeHead> {
    return (await this.heads.latest()) ?? (await this.heads.publish());
  }

  @Get('tree-heads')
  @PublicLog()
  @Endpoint({ operationId: 'listTreeHeads', summary: 'The kept signed tree heads, smallest first', query: TreeHeadsQuery, response: z.array(SignedTreeHead) })
  treeHeads(@ValidQuery() query: z.output<typeof TreeHeadsQuery>): Promise<KeptTreeHead[]> {
    return this.heads.list(query.from ?? 0, query.limit ?? 100);
  }

  @Get('keys')
  @PublicLog()
  @Endpoint({ operationId: 'listLogKeys', summary: "The log's signing keys, past ones included", response: z.array(LogKey) })
  async logKeys(): Promise<(LogKeyView & { handover: KeyHandover | null })[]> {
    const [keys, handovers] = await Promise.all([this.keys.published(), this.keys.handovers()]);
    return keys.map((key) => ({ ...key, handover: handovers.find((h) => h.head.keyId === key.keyId) ?? null }));
  }

  @Get('leaves')
  @PublicLog()
  @Endpoint({
    operationId: 'listLogLeaves',
    summary: 'Leaf hashes start..end (inclusive): enough to rebuild the tree',
    query: LeavesQuery,
    response: z.array(LogLeaf),
    problems: [422],
  })
  leaves(@ValidQuery() query: z.output<typeof LeavesQuery>): Promise<z.output<typeof LogLeaf>[]> {
    return this.log.leaves(query.start, query.end);
  }

  @Get('entries')
  @Permit('log.events')
  @Endpoint({
    operationId: 'listLogEntries',
    summary: 'Leaves start..end (inclusive) with each event the caller may see (else null)',
    query: LeavesQuery,
    response: z.array(LogEntrySchema),
    problems: [422],
  })
  entries(@CurrentActor() actor: Actor, @ValidQuery() query: z.output<typeof LeavesQuery>): Promise<LogEntry[]> {
    return this.log.entries(readerOf(actor), query.start, query.end);
  }

  /**
   * For an auditor following one case among many: its events newest first, without paging the
   * whole log's leaves (each entry's leaf index and hash, to check against heads as the log's).
   */
  @Get('cases/:caseId')
  @Permit('log.events')
  @Endpoint({
    operationId: 'listCaseLogEntries',
    summary: "A case's log entries the caller may see, newest first (a documenter: what they did)",
    query: CaseLogQuery,
    response: CaseLogPage,
    problems: [404],
  })
  async caseEntries(
    @CurrentActor() actor: Actor,
    @Param('caseId', uuidParam('caseId')) caseId: string,
    @ValidQuery() query: z.output<typeof CaseLogQuery>,
  ): Promise<z.output<typeof CaseLogPage>> {
    await this.cases.assertMay(actor, caseId, 'log.events');
    const limit = query.limit ?? 50;
    const items = await this.log.caseEntries(readerOf(actor), caseId, query.before ?? null, limit);
    return { items, nextBefore: items.length === limit ? items[items.length - 1]!.leafIndex : null };
  }

  @Get('proofs/inclusion')
  @PublicLog()
  @Endpoint({
    operationId: 'getInclusionProof',
    summary: 'An audit path proving a leaf is in a tree of a signed size',
    query: InclusionQuery,
    response: InclusionProof,
    problems: [422],
  })
  async inclusion(@ValidQuery() query: z.output<typeof InclusionQuery>): Promise<z.output<typeof InclusionProof>> {
    const signed = await this.signedSize();
    const treeSize = query.treeSize ?? signed;
    if (treeSize > signed) {
      throw unprocessable('No signed head has this size yet', [{ field: 'treeSize', message: `must be <= ${signed}` }]);
    }
    if (query.leafIndex >= treeSize) {
      throw unprocessable('The leaf is not in a tree of this size', [{ field: 'leafIndex', message: `must be < ${treeSize}` }]);
    }
    const leafHash = (await this.log.leafHashAt(query.leafIndex))!;
    return { leafIndex: query.leafIndex, treeSize, leafHash, auditPath: await this.log.inclusionProof(query.leafIndex, treeSize) };
  }

  @Get('proofs/consistency')
  @PublicLog()
  @Endpoint({
    operationId: 'getConsistencyProof',
    summary: 'A proof that the tree of the second size extends the tree of the first',
    query: ConsistencyQuery,
    response: ConsistencyProof,
    problems: [422],
  })
  async consistency(@ValidQuery() query: z.output<typeof ConsistencyQuery>): Promise<z.output<typeof ConsistencyProof>> {
    const signed = await this.signedSize();
    if (query.first < 1) throw unprocessable('Consistency from an empty tree proves nothing', [{ field: 'first', message: 'must be >= 1' }]);
    if (query.second > signed) throw unprocessable('No signed head has this size yet', [{ field: 'second', message: `must be <= ${signed}` }]);
    if (query.first > query.second) throw unprocessable('first is larger than second', [{ field: 'first', message: 'must be <= second' }]);
    return { first: query.first, second: query.second, proof: await this.log.consistencyProof(query.first, query.second) };
  }
}

/** What of the log's events `actor` may read: their role's scopes for events and system events. */
function readerOf(actor: Actor): LogReader {
  return { id: actor.id, events: scopeOf(actor.role, 'log.events'), system: scopeOf(actor.role, 'log.system') };
}
