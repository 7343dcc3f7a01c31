import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Accounts, access tokens, login throttling, cases and membership. */
export class Foundation1764000000000 implements MigrationInterface {
  name = 'Foundation1764000000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE users (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        email text NOT NULL,
        display_name text NOT NULL,
        role text NOT NULL CONSTRAINT users_role_check
          CHECK (role IN ('admin', 'investigator', 'documenter', 'auditor')),
        password_hash text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        disabled_at timestamptz
      )`);
    await db.query(`CREATE UNIQUE INDEX users_email_key ON users (lower(email))`);

    // Tokens are random 256-bit secrets; only their SHA-256 is stored.
    await db.query(`
      CREATE TABLE access_tokens (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        user_id uuid NOT NULL REFERENCES users (id),
        kind text NOT NULL CONSTRAINT access_tokens_kind_check CHECK (kind IN ('session', 'api')),
        name text,
        token_hash bytea NOT NULL CONSTRAINT access_tokens_token_hash_key UNIQUE,
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL,
        revoked_at timestamptz,
        last_used_at timestamptz
      )`);
    await db.query(`CREATE INDEX access_tokens_user_idx ON access_tokens (user_id, kind)`);

    // Failed logins, shared by every API instance, so the rate limit holds behind a load balancer.
    await db.query(`
      CREATE TABLE login_failures (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        email_key text NOT NULL,
        client_ip text NOT NULL,
        at timestamptz NOT NULL DEFAULT now()
      )`);
    await db.query(`CREATE INDEX login_failures_email_idx ON login_failures (email_key, at)`);
    await db.query(`CREATE INDEX login_failures_ip_idx ON login_failures (client_ip, at)`);

    await db.query(`
      CREATE TABLE cases (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        title text NOT NULL,
        description text,
        created_at timestamptz NOT NULL DEFAULT now(),
        created_by uuid NOT NULL REFERENCES users (id)
      )`);
    await db.query(`
      CREATE TABLE case_members (
        case_id uuid NOT NULL REFERENCES cases (id),
        user_id uuid NOT NULL REFERENCES users (id),
        added_at timestamptz NOT NULL DEFAULT now(),
        added_by uuid NOT NULL REFERENCES users (id),
        PRIMARY KEY (case_id, user_id)
      )`);
    await db.query(`CREATE INDEX case_members_user_idx ON case_members (user_id)`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE case_members, cases, login_failures, access_tokens, users`);
  }
}
