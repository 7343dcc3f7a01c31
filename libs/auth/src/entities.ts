import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';
import type { InterfaceLanguage, Role } from './roles.js';

@Entity('users')
export class UserEntity {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column('text') email!: string;
  @Column('text', { name: 'display_name' }) displayName!: string;
  @Column('text') role!: Role;
  @Column('text', { name: 'password_hash', select: false }) passwordHash!: string;
  @Column({ type: 'timestamptz', name: 'created_at', insert: false }) createdAt!: Date;
  @Column('timestamptz', { name: 'disabled_at', nullable: true }) disabledAt!: Date | null;
  @Column('boolean', { name: 'must_change_password', default: false }) mustChangePassword!: boolean;
  @Column('text', { nullable: true }) language!: InterfaceLanguage | null;
}

@Entity('access_tokens')
export class AccessTokenEntity {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column('uuid', { name: 'user_id' }) userId!: string;
  @Column('text') kind!: 'session' | 'api';
  @Column('text', { nullable: true }) name!: string | null;
  @Column('bytea', { name: 'token_hash', select: false }) tokenHash!: Buffer;
  @Column({ type: 'timestamptz', name: 'created_at', insert: false }) createdAt!: Date;
  @Column('timestamptz', { name: 'expires_at' }) expiresAt!: Date;
  @Column('timestamptz', { name: 'revoked_at', nullable: true }) revokedAt!: Date | null;
  @Column('timestamptz', { name: 'last_used_at', nullable: true }) lastUsedAt!: Date | null;
}

export const AUTH_ENTITIES = [UserEntity, AccessTokenEntity];
