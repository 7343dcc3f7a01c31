import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsDate, IsEmail, IsIn, IsOptional, IsString, IsUUID, Length, Matches, MaxLength, MinLength } from 'class-validator';
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
}

export class UserViewDto extends UserDto {
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
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

export class CreateCaseDto {
  @ApiProperty({ example: 'Kharkiv, Saltivka: night strikes, November 2026' })
  @IsString()
  @Length(1, 500)
  title!: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(20_000)
  description?: string;
}

export class CaseDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty() title!: string;
  @ApiProperty({ nullable: true, type: String }) description!: string | null;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ format: 'uuid' }) createdBy!: string;
}

export class AddMemberDto {
  @ApiProperty({ format: 'uuid' })
  @IsUUID('all', { message: 'userId must be a UUID' })
  userId!: string;
}

export class CaseMemberDto {
  @ApiProperty({ format: 'uuid' }) userId!: string;
  @ApiProperty() email!: string;
  @ApiProperty() displayName!: string;
  @ApiProperty({ enum: ROLES }) role!: string;
  @ApiProperty({ format: 'date-time' }) addedAt!: string;
  @ApiProperty({ format: 'uuid' }) addedBy!: string;
}
