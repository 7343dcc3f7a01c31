import { plainToInstance, Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsDateString,
  IsIn,
  IsNumber,
  IsObject,
  IsOptional,
  IsString,
  IsUrl,
  IsUUID,
  Length,
  Matches,
  MaxLength,
  ValidateNested,
  validate,
  type ValidationError,
} from 'class-validator';
import { badRequest, unprocessable, type FieldProblem } from '#custodia/errors';

export const SOURCE_TYPES = ['field_capture', 'witness_submission', 'open_source', 'official_record', 'other'] as const;
export type SourceType = (typeof SOURCE_TYPES)[number];

export class DeclaredLocation {
  @IsNumber({ allowNaN: false, allowInfinity: false }) lat!: number;
  @IsNumber({ allowNaN: false, allowInfinity: false }) lon!: number;
  @IsOptional() @IsNumber({ allowNaN: false, allowInfinity: false }) accuracyM?: number;
}

/** The `metadata` part of a submission (api.md); every field optional. */
export class SubmissionMetadata {
  @IsOptional() @Matches(/^[0-9a-fA-F]{64}$/, { message: 'sha256 must be 64 hexadecimal characters' }) sha256?: string;
  @IsOptional() @IsString() @Length(1, 200) clientSubmissionId?: string;
  @IsOptional() @IsDateString({ strict: true }, { message: 'capturedAt must be an RFC 3339 date-time' }) capturedAt?: string;
  @IsOptional() @IsObject() @ValidateNested() @Type(() => DeclaredLocation) location?: DeclaredLocation;
  @IsOptional() @IsString() @MaxLength(500) title?: string;
  @IsOptional() @IsString() @MaxLength(20_000) description?: string;
  @IsOptional() @IsArray() @ArrayMaxSize(50) @IsString({ each: true }) @Length(1, 100, { each: true }) tags?: string[];
  @IsOptional() @IsUUID('all', { message: 'incidentId must be a UUID' }) incidentId?: string;
  @IsOptional() @IsIn(SOURCE_TYPES) sourceType?: SourceType;
  @IsOptional() @IsUrl({ protocols: ['http', 'https'], require_protocol: true }) @MaxLength(2000) sourceUrl?: string;
  @IsOptional() @Matches(/^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$/, { message: 'language must be a BCP 47 tag such as uk or uk-UA' })
  language?: string;
}

function flatten(errors: ValidationError[], prefix: string): FieldProblem[] {
  return errors.flatMap((error) => {
    const field = `${prefix}.${error.property}`;
    const own = Object.values(error.constraints ?? {}).map((message) => ({ field, message }));
    return [...own, ...flatten(error.children ?? [], field)];
  });
}

/**
 * Parses and checks the submission's metadata JSON. Malformed or mistyped input is a 400
 * naming the fields; well-formed but impossible coordinates or dates are a 422.
 */
export async function parseSubmissionMetadata(raw: string | null): Promise<SubmissionMetadata> {
  if (raw === null || raw.trim() === '') return new SubmissionMetadata();
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw badRequest('The metadata part is not valid JSON', [{ field: 'metadata', message: 'must be a JSON object' }]);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw badRequest('The metadata part must be a JSON object', [{ field: 'metadata', message: 'must be a JSON object' }]);
  }
  const metadata = plainToInstance(SubmissionMetadata, json);
  const errors = await validate(metadata, { whitelist: true, forbidNonWhitelisted: true, forbidUnknownValues: true });
  if (errors.length) throw badRequest('The metadata has invalid fields', flatten(errors, 'metadata'));

  const problems: FieldProblem[] = [];
  const { location, capturedAt } = metadata;
  if (location) {
    if (location.lat < -90 || location.lat > 90) problems.push({ field: 'metadata.location.lat', message: 'must be between -90 and 90' });
    if (location.lon < -180 || location.lon > 180) problems.push({ field: 'metadata.location.lon', message: 'must be between -180 and 180' });
    if (location.accuracyM !== undefined && location.accuracyM < 0) {
      problems.push({ field: 'metadata.location.accuracyM', message: 'must not be negative' });
    }
  }
  if (capturedAt !== undefined) {
    if (!/(Z|[+-]\d\d:\d\d)$/i.test(capturedAt)) problems.push({ field: 'metadata.capturedAt', message: 'must carry a time zone (Z or ±hh:mm)' });
    else if (Date.parse(capturedAt) > Date.now() + 24 * 3600 * 1000) {
      problems.push({ field: 'metadata.capturedAt', message: 'lies in the future' });
    }
  }
  if (problems.length) throw unprocessable('The metadata is well-formed but impossible', problems);
  if (metadata.sha256) metadata.sha256 = metadata.sha256.toLowerCase();
  return metadata;
}
