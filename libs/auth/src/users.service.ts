import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { conflict, unprocessable } from '#custodia/errors';
import { isUniqueViolation } from '#custodia/db';
import { UserEntity } from './entities.js';
import { hashPassword, MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from './secrets.js';
import { ROLES, type Role } from './roles.js';

export interface NewUser {
  email: string;
  password: string;
  displayName: string;
  role: Role;
}

/** What the API shows of a user: never the password hash. */
export interface UserView {
  id: string;
  email: string;
  displayName: string;
  role: Role;
  createdAt: string;
}

export function toUserView(user: UserEntity): UserView {
  return {
    id: user.id,
    email: user.email,
    displayName: user.displayName,
    role: user.role,
    createdAt: user.createdAt.toISOString(),
  };
}

@Injectable()
export class UsersService {
  constructor(private readonly db: DataSource) {}

  /** Creates an account; the email is unique without regard to case. */
  async create(input: NewUser): Promise<UserView> {
    if (input.password.length < MIN_PASSWORD_LENGTH || input.password.length > MAX_PASSWORD_LENGTH) {
      throw unprocessable('The password is too short or too long', [
        { field: 'password', message: `must be ${MIN_PASSWORD_LENGTH} to ${MAX_PASSWORD_LENGTH} characters long` },
      ]);
    }
    if (!ROLES.includes(input.role)) {
      throw unprocessable('Unknown role', [{ field: 'role', message: `must be one of ${ROLES.join(', ')}` }]);
    }
    const passwordHash = await hashPassword(input.password);
    try {
      const rows = await this.db
        .createQueryBuilder()
        .insert()
        .into(UserEntity)
        .values({ email: input.email.trim(), displayName: input.displayName.trim(), role: input.role, passwordHash })
        .returning(['id'])
        .execute();
      return toUserView(await this.db.getRepository(UserEntity).findOneByOrFail({ id: rows.identifiers[0]!['id'] }));
    } catch (error) {
      if (isUniqueViolation(error, 'users_email_key')) throw conflict('A user with this email already exists');
      throw error;
    }
  }

  async list(): Promise<UserView[]> {
    const users = await this.db.getRepository(UserEntity).find({ order: { createdAt: 'ASC' } });
    return users.map(toUserView);
  }

  async findById(id: string): Promise<UserView | null> {
    const user = await this.db.getRepository(UserEntity).findOneBy({ id });
    return user ? toUserView(user) : null;
  }

  /**
   * Creates the first administrator when the database has no user yet. Several instances may
   * start at once: the advisory lock makes exactly one of them do it.
   */
  async ensureFirstAdmin(email: string, password: string): Promise<UserView | null> {
    return this.db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', ['custodia.first-admin']);
      const [{ count }] = await tx.query('SELECT count(*)::int AS count FROM users');
      if (count > 0) return null;
      const passwordHash = await hashPassword(password);
      const [row] = await tx.query(
        `INSERT INTO users (email, display_name, role, password_hash) VALUES ($1, $2, 'admin', $3) RETURNING id`,
        [email, 'Administrator', passwordHash],
      );
      return toUserView(await tx.getRepository(UserEntity).findOneByOrFail({ id: row.id }));
    });
  }
}
