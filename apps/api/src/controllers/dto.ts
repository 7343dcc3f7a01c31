import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  IsBoolean,
  IsDate,
  IsEmail,
  IsIn,
  IsOptional,
  IsString,
  Length,
  Matches,
  MaxLength,
  MinLength,
} from 'class-validator';
import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, ROLES, type Role } from '#custodia/auth';
import { VISIBLE_EMAIL } from '../http/strict-input.js';

const VISIBLE = { message: '$property must not contain spaces, invisible or control characters' };

export class LoginDto {
  @ApiProperty({ example: 'admin@example.org' })
  @IsString()
  @MaxLength(320)
  @Matches(VISIBLE_EMAIL, VISIBLE)
  email!: string;

  @ApiProperty({ format: 'password' })
  @IsString()
  @MaxLength(MAX_PASSWORD_LENGTH)
  password!: string;
}

export class UserDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty() email!: string;
  @ApiProperty() displayName!: string;
  @ApiProperty({ enum: ROLES }) role!: Role;
  @ApiProperty({ description: 'An administrator set the password with mustChange: every route but POST /auth/password, GET /auth/me and POST /auth/logout answers 403 until it is changed' })
  mustChangePassword!: boolean;
}

export class LoginResultDto {
  @ApiProperty() accessToken!: string;
  @ApiProperty({ format: 'date-time' }) expiresAt!: string;
  @ApiProperty({ type: UserDto }) user!: UserDto;
}

export class CreateUserDto {
  @ApiProperty({ example: 'investigator@example.org' })
  @IsEmail({}, { message: 'email must be an email address' })
  @MaxLength(320)
  @Matches(VISIBLE_EMAIL, VISIBLE)
  email!: string;

  @ApiProperty({ minLength: MIN_PASSWORD_LENGTH, format: 'password' })
  @IsString()
  @MinLength(MIN_PASSWORD_LENGTH)
  @MaxLength(MAX_PASSWORD_LENGTH)
  password!: string;

  @ApiProperty({ example: 'Olena K.' })
  @IsString()
  @Length(1, 200)
  displayName!: string;

  @ApiProperty({ enum: ROLES })
  @IsIn(ROLES)
  role!: Role;

  @ApiPropertyOptional({ default: false, description: 'The user must change this password before doing anything else' })
  @IsOptional()
  @IsBoolean({ message: 'mustChange must be true or false' })
  mustChange?: boolean;
}

export class UserViewDto extends UserDto {
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ format: 'date-time', nullable: true, type: String, description: 'when the account was disabled; null while active' })
  disabledAt!: string | null;
}

const REASON = { maxLength: 2000, description: 'Why: recorded with the custody event' };

export class UpdateUserDto {
  @ApiPropertyOptional({ example: 'Olena K.' })
  @IsOptional()
  @IsString()
  @Length(1, 200)
  displayName?: string;

  @ApiPropertyOptional({ enum: ROLES })
  @IsOptional()
  @IsIn(ROLES)
  role?: Role;

  @ApiPropertyOptional({ description: 'true ends every session and device token of the user at once' })
  @IsOptional()
  @IsBoolean({ message: 'disabled must be true or false' })
  disabled?: boolean;

  @ApiProperty({ ...REASON, description: 'Required (422 without): why the account changes; recorded with the custody event' })
  @IsOptional()
  @IsString()
  @MaxLength(REASON.maxLength)
  reason?: string;
}

export class SetPasswordDto {
  @ApiProperty({ minLength: MIN_PASSWORD_LENGTH, format: 'password' })
  @IsString()
  @MinLength(MIN_PASSWORD_LENGTH)
  @MaxLength(MAX_PASSWORD_LENGTH)
  password!: string;

  @ApiPropertyOptional({ default: false, description: 'The user must change it at their next login before doing anything else' })
  @IsOptional()
  @IsBoolean({ message: 'mustChange must be true or false' })
  mustChange?: boolean;
}

export class ChangePasswordDto {
  @ApiProperty({ format: 'password' })
  @IsString()
  @MaxLength(MAX_PASSWORD_LENGTH)
  currentPassword!: string;

  @ApiProperty({ minLength: MIN_PASSWORD_LENGTH, format: 'password' })
  @IsString()
  @MinLength(MIN_PASSWORD_LENGTH)
  @MaxLength(MAX_PASSWORD_LENGTH)
  newPassword!: string;
}

export class UserTokenDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ enum: ['session', 'api'], description: 'session: a login; api: a device token (POST /auth/tokens)' }) kind!: 'session' | 'api';
  @ApiProperty({ nullable: true, type: String }) name!: string | null;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ format: 'date-time' }) expiresAt!: string;
  @ApiProperty({ format: 'date-time', nullable: true, type: String }) lastUsedAt!: string | null;
  @ApiProperty({ format: 'date-time', nullable: true, type: String }) revokedAt!: string | null;
}

export class RevokeTokensQuery {
  @ApiPropertyOptional({ ...REASON, description: 'Why (a phone was seized): recorded with the custody event' })
  @IsOptional()
  @IsString()
  @MaxLength(REASON.maxLength)
  reason?: string;
}

export class RevokedTokensDto {
  @ApiProperty({ description: 'live sessions ended' }) sessions!: number;
  @ApiProperty({ description: 'live device tokens revoked' }) deviceTokens!: number;
}

export class CreateApiTokenDto {
  @ApiProperty({ example: 'Pixel 7, Kharkiv team' })
  @IsString()
  @Length(1, 200)
  name!: string;

  @ApiPropertyOptional({ format: 'date-time', description: 'Defaults to CUSTODIA_API_TOKEN_TTL_DAYS from now' })
  @IsOptional()
  @Type(() => Date)
  @IsDate({ message: 'expiresAt must be an RFC 3339 date-time' })
  expiresAt?: Date;
}

export class ApiTokenDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ format: 'date-time' }) expiresAt!: string;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ format: 'date-time', nullable: true, type: String }) lastUsedAt!: string | null;
  @ApiProperty({ format: 'date-time', nullable: true, type: String }) revokedAt!: string | null;
}

export class CreatedApiTokenDto extends ApiTokenDto {
  @ApiProperty({ description: 'Shown once; only its hash is stored' }) token!: string;
}
