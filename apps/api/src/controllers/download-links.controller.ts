import { Controller, Post } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { CreateDownloadLinkBody, CurrentActor, DownloadLink, DownloadLinks, linkedDownload, Permit, type Actor } from '#custodia/auth';
import { EvidenceService } from '#custodia/evidence';
import { ExportsService } from '#custodia/exports';
import { z } from '#custodia/schema';
import { API_PREFIX } from '../http/api-prefix.js';
import { Endpoint, ValidBody } from '../http/endpoint.js';

/**
 * One-time download links (README, "One-time download links"): a browser saves a large file
 * straight to disk by following a link, which cannot carry the Authorization header.
 */
@ApiTags('auth')
@Controller('auth')
export class DownloadLinksController {
  constructor(
    private readonly links: DownloadLinks,
    private readonly evidence: EvidenceService,
    private readonly exports: ExportsService,
  ) {}

  @Post('download-links')
  @Permit('self')
  @Endpoint({
    operationId: 'createDownloadLink',
    summary: 'A one-time link to an original or a package, for a browser to follow (GET only; lasts a minute, used up when followed)',
    description:
      'The caller must be able to download the file now: 404, 403 or 409 (a package not ready) otherwise, as the download itself would answer, so a console can say so before the browser starts. The link acts as the caller, through the token of this call (revoking it ends the link); the download route applies its own access rule again and records its custody event as for a request with the token. Only the link\'s SHA-256 is stored. At most 16 links per user wait at once (429).',
    body: CreateDownloadLinkBody,
    response: DownloadLink,
    status: 201,
    problems: [403, 404, 409, 429],
  })
  async createDownloadLink(@CurrentActor() actor: Actor, @ValidBody() body: z.output<typeof CreateDownloadLinkBody>): Promise<z.output<typeof DownloadLink>> {
    const { kind, id } = linkedDownload(body.path)!;
    // The checks of the download itself, nothing recorded: the download records its own event.
    if (kind === 'evidence') await this.evidence.itemFor(actor, id, 'evidence.content');
    else await this.exports.downloadable(actor, id);
    const path = `/${API_PREFIX}${body.path}`;
    const { link, expiresAt } = await this.links.create(actor, path);
    return { url: `${path}?link=${link}`, expiresAt: expiresAt.toISOString() };
  }
}
