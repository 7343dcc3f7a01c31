import { Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiProperty, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, Max, Min } from 'class-validator';
import { Allow, CurrentActor, may, PublicLog, scopeOf, type Actor } from '#custodia/auth';
import { CustodyLog, SigningKeys, TreeHeads } from '#custodia/custody';
import { unprocessable } from '#custodia/errors';

const MAX_PAGE = 1000;

class TreeHeadDto {
  @ApiProperty() treeSize!: number;
  @ApiProperty({ description: 'hex SHA-256 tree hash' }) rootHash!: string;
  @ApiProperty({ format: 'date-time' }) timestamp!: string;
  @ApiProperty({ description: 'hex SHA-256 of the signing key\'s SPKI DER' }) keyId!: string;
  @ApiProperty({ description: 'base64 Ed25519 signature over the RFC 8785 bytes of the four fields above' }) signature!: string;
  @ApiProperty({
    nullable: true,
    type: String,
    description: 'base64 DER RFC 3161 token over the RFC 8785 bytes of the five fields above, when CUSTODIA_TSA_URL is set',
  })
  timestampToken!: string | null;
}

class LogKeyDto {
  @ApiProperty() keyId!: string;
  @ApiProperty({ enum: ['Ed25519'] }) algorithm!: 'Ed25519';
  @ApiProperty() publicKeyPem!: string;
  @ApiProperty({ format: 'date-time' }) activeFrom!: string;
  @ApiProperty({ format: 'date-time', nullable: true, type: String }) activeTo!: string | null;
}

class LogEntryDto {
  @ApiProperty() leafIndex!: number;
  @ApiProperty() leafHash!: string;
  @ApiProperty({ nullable: true, type: Object, description: 'null where the caller may not see the event' })
  event!: object | null;
}

class InclusionProofDto {
  @ApiProperty() leafIndex!: number;
  @ApiProperty() treeSize!: number;
  @ApiProperty() leafHash!: string;
  @ApiProperty({ type: [String] }) auditPath!: string[];
}

class ConsistencyProofDto {
  @ApiProperty() first!: number;
  @ApiProperty() second!: number;
  @ApiProperty({ type: [String] }) proof!: string[];
}

const index = () => [Type(() => Number), IsInt({ message: '$property must be a whole number' }), Min(0)];
const apply = (decorators: PropertyDecorator[]): PropertyDecorator => (target, key) => decorators.forEach((d) => d(target, key));

class HeadsQuery {
  @ApiPropertyOptional() @IsOptional() @apply(index()) from?: number;
  @ApiPropertyOptional({ maximum: MAX_PAGE }) @IsOptional() @apply(index()) @Max(MAX_PAGE) limit?: number;
}

class EntriesQuery {
  @ApiProperty() @apply(index()) start!: number;
  @ApiProperty({ description: `inclusive; at most ${MAX_PAGE} entries per call` }) @apply(index()) end!: number;
}

class LeafDto {
  @ApiProperty() leafIndex!: number;
  @ApiProperty({ description: 'hex SHA-256(0x00 || event bytes)' }) leafHash!: string;
}

function assertPage(query: EntriesQuery): void {
  if (query.end < query.start) throw unprocessable('end comes before start', [{ field: 'end', message: 'must be >= start' }]);
  if (query.end - query.start >= MAX_PAGE) {
    throw unprocessable(`At most ${MAX_PAGE} entries per call`, [{ field: 'end', message: `must be < start + ${MAX_PAGE}` }]);
  }
}

class InclusionQuery {
  @ApiProperty() @apply(index()) leafIndex!: number;
  @ApiPropertyOptional({ description: 'defaults to the newest signed head\'s size' }) @IsOptional() @apply(index()) treeSize?: number;
}

class ConsistencyQuery {
  @ApiProperty() @apply(index()) first!: number;
  @ApiProperty() @apply(index()) second!: number;
}

/**
 * The custody log for auditors and outside monitors: heads, keys, leaf hashes and proofs are
 * public (CUSTODIA_PUBLIC_LOG); the events themselves only to those who may see them.
 */
@ApiTags('custody log')
@ApiBearerAuth()
@Controller('log')
@Allow()
export class LogController {
  constructor(
    private readonly log: CustodyLog,
    private readonly heads: TreeHeads,
    private readonly keys: SigningKeys,
  ) {}

  private async signedSize(): Promise<number> {
    return (await this.heads.latest())?.treeSize ?? 0;
  }

  @Get('tree-head')
  @PublicLog()
  @ApiOkResponse({ type: TreeHeadDto })
  async treeHead(): Promise<TreeHeadDto> {
    return (await this.heads.latest()) ?? (await this.heads.publish());
  }

  @Get('tree-heads')
  @PublicLog()
  @ApiOkResponse({ type: [TreeHeadDto] })
  treeHeads(@Query() query: HeadsQuery): Promise<TreeHeadDto[]> {
    return this.heads.list(query.from ?? 0, query.limit ?? 100);
  }

  @Get('keys')
  @PublicLog()
  @ApiOkResponse({ type: [LogKeyDto] })
  logKeys(): Promise<LogKeyDto[]> {
    return this.keys.published();
  }

  @Get('leaves')
  @PublicLog()
  @ApiOkResponse({ type: [LeafDto] })
  leaves(@Query() query: EntriesQuery): Promise<LeafDto[]> {
    assertPage(query);
    return this.log.leaves(query.start, query.end);
  }

  @Get('entries')
  @ApiOkResponse({ type: [LogEntryDto] })
  entries(@CurrentActor() actor: Actor, @Query() query: EntriesQuery): Promise<LogEntryDto[]> {
    assertPage(query);
    // How far the caller sees is the policy's; the log's query knows no roles.
    const reader = { id: actor.id, events: scopeOf(actor.role, 'log.events'), systemEvents: may(actor.role, 'log.system') };
    return this.log.entries(reader, query.start, query.end);
  }

  @Get('proofs/inclusion')
  @PublicLog()
  @ApiOkResponse({ type: InclusionProofDto })
  async inclusion(@Query() query: InclusionQuery): Promise<InclusionProofDto> {
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
  @ApiOkResponse({ type: ConsistencyProofDto })
  async consistency(@Query() query: ConsistencyQuery): Promise<ConsistencyProofDto> {
    const signed = await this.signedSize();
    if (query.first < 1) throw unprocessable('Consistency from an empty tree proves nothing', [{ field: 'first', message: 'must be >= 1' }]);
    if (query.second > signed) throw unprocessable('No signed head has this size yet', [{ field: 'second', message: `must be <= ${signed}` }]);
    if (query.first > query.second) throw unprocessable('first is larger than second', [{ field: 'first', message: 'must be <= second' }]);
    return { first: query.first, second: query.second, proof: await this.log.consistencyProof(query.first, query.second) };
  }
}
