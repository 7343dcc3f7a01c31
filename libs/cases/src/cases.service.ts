import { Injectable } from '@nestjs/common';
import { preparedQuery } from '#custodia/db';
import { DataSource, type EntityManager } from 'typeorm';
import { assertMay, holdCaller, may, scopeOf, type Actor, type Purpose } from '#custodia/auth';
import { CustodyLog } from '#custodia/custody';
import { conflict, forbidden, notFound, unprocessable } from '#custodia/errors';
import type { CaseMemberView, CaseView } from './cases.schema.js';
import { CaseEntity, CaseMemberEntity } from './entities.js';

interface MemberRow {
  user_id: string;
  email: string;
  display_name: string;
  role: string;
  added_at: Date;
  added_by: string;
}

/** A member as the API shows them; the email only to those who may see it. */
const memberView = (r: MemberRow, emails: boolean): CaseMemberView => ({
  userId: r.user_id,
  ...(emails ? { email: r.email } : {}),
  displayName: r.display_name,
  role: r.role as CaseMemberView['role'],
  addedAt: r.added_at.toISOString(),
  addedBy: r.added_by,
});

const toCaseView = (c: CaseEntity): CaseView => ({
  id: c.id,
  title: c.title,
  description: c.description,
  createdAt: c.createdAt.toISOString(),
  createdBy: c.createdBy,
});

@Injectable()
export class CasesService {
  constructor(
    private readonly db: DataSource,
    private readonly custody: CustodyLog,
  ) {}

  /** Opens a case; its creator becomes its first member. */
  async create(actor: Actor, input: { title: string; description?: string | null }): Promise<CaseView> {
    return this.db.transaction(async (tx) => {
      const inserted = await tx.getRepository(CaseEntity).insert({
        title: input.title.trim(),
        description: input.description?.trim() || null,
        createdBy: actor.id,
      });
      const caseId: string = inserted.identifiers[0]!['id'];
      await tx.getRepository(CaseMemberEntity).insert({ caseId, userId: actor.id, addedBy: actor.id });
      await this.custody.append(tx, { action: 'case.created', actor, caseId, subject: { type: 'case', id: caseId } });
      return toCaseView(await tx.getRepository(CaseEntity).findOneByOrFail({ id: caseId }));
    });
  }

  /** The caller's cases (an administrator's: every case). */
  async listFor(actor: Actor): Promise<CaseView[]> {
    const query = this.db.getRepository(CaseEntity).createQueryBuilder('c').orderBy('c.created_at', 'DESC');
    if (scopeOf(actor.role, 'case.read') !== 'any') {
      query.innerJoin(CaseMemberEntity, 'm', 'm.case_id = c.id AND m.user_id = :userId', { userId: actor.id });
    }
    return (await query.getMany()).map(toCaseView);
  }

  /** The case, if the caller may know it exists: a non-member gets "not found", never the case. */
  async getFor(actor: Actor, caseId: string, tx: EntityManager = this.db.manager): Promise<CaseView> {
    // One statement, the case and the caller's membership (an authenticated read's only query
    // beside the token's): an administrator sees every case that exists.
    const [found] = await preparedQuery<Omit<CaseEntity, 'createdAt'> & { createdAt: Date; member: boolean }>(
      tx,
      'custodia_case_with_membership',
      `SELECT c.id, c.title, c.description, c.created_at AS "createdAt", c.created_by AS "createdBy",
              EXISTS (SELECT 1 FROM case_members m WHERE m.case_id = c.id AND m.user_id = $2) AS member
         FROM cases c WHERE c.id = $1`,
      [caseId, actor.id],
    );
    if (!found || !mayKnowCase(actor, found.member)) throw notFound('The case');
    return toCaseView(found);
  }

  /** Throws "not found" unless the caller is a member (or an administrator). */
  async assertVisible(actor: Actor, caseId: string, tx: EntityManager = this.db.manager): Promise<void> {
    if (!(await this.isVisibleTo(actor, caseId, tx))) throw notFound('The case');
  }

  /**
   * The policy's check for a thing of a case: a caller who may not see the case learns nothing
   * (404 naming `what`), one who sees it but whose role never may do `purpose` gets 403. An
   * `own` scope is the caller's to apply to the thing (policy.ts assertMay with its owner).
   */
  async assertMay(actor: Actor, caseId: string, purpose: Purpose, tx: EntityManager = this.db.manager, what = 'The case'): Promise<void> {
    if (!(await this.isVisibleTo(actor, caseId, tx))) throw notFound(what);
    assertMay(actor, purpose);
  }

  /**
   * `assertMay` inside a write's transaction, for a write that began long before it commits (a
   * submission streams for minutes): the caller's account, role and token (`holdCaller`) and
   * membership of the case are read again and held until the write commits, so a removal from the
   * case, a revocation or a disable that commits meanwhile waits for it, and one that committed
   * first refuses it: nothing is accepted from someone no longer allowed when it is accepted.
   */
  async holdAccess(tx: EntityManager, actor: Actor, caseId: string, purpose: Purpose): Promise<void> {
    await holdCaller(tx, actor);
    if (scopeOf(actor.role, 'case.read') !== 'any') {
      const [member] = await preparedQuery(tx, 'custodia_case_member_held', `SELECT 1 FROM case_members WHERE case_id = $1 AND user_id = $2 FOR SHARE`, [caseId, actor.id]);
      if (!member) throw notFound('The case');
    }
    assertMay(actor, purpose);
  }

  /** `assertMay` where the caller's membership of the case is already known (read with the thing). */
  assertMayAsMember(actor: Actor, isMember: boolean, purpose: Purpose, what = 'The case'): void {
    if (!mayKnowCase(actor, isMember)) throw notFound(what);
    assertMay(actor, purpose);
  }

  private async isVisibleTo(actor: Actor, caseId: string, tx: EntityManager): Promise<boolean> {
    // Prepared statements: every read of a case's things asks this (a key lookup, one plan), and
    // the ORM's query builder cost more than the query.
    const [row] =
      scopeOf(actor.role, 'case.read') === 'any'
        ? await preparedQuery<{ visible: boolean }>(tx, 'custodia_case_exists', `SELECT EXISTS (SELECT 1 FROM cases WHERE id = $1) AS visible`, [caseId])
        : await preparedQuery<{ visible: boolean }>(
            tx,
            'custodia_case_member',
            `SELECT EXISTS (SELECT 1 FROM case_members WHERE case_id = $1 AND user_id = $2) AS visible`,
            [caseId, actor.id],
          );
    return row!.visible;
  }

  /** The members; their emails only where the policy shows them (administrators, investigators). */
  async members(actor: Actor, caseId: string): Promise<CaseMemberView[]> {
    await this.assertMay(actor, caseId, 'case.members.read');
    const emails = may(actor.role, 'case.members.emails');
    const rows = await this.db.query(
      `SELECT m.user_id, u.email, u.display_name, u.role, m.added_at, m.added_by
         FROM case_members m JOIN users u ON u.id = m.user_id
        WHERE m.case_id = $1 ORDER BY m.added_at`,
      [caseId],
    );
    return rows.map((row: MemberRow) => memberView(row, emails));
  }

  private async assertMayManageMembers(actor: Actor, caseId: string, tx: EntityManager): Promise<void> {
    await this.assertVisible(actor, caseId, tx);
    if (!may(actor.role, 'case.members.manage')) throw forbidden('Only an administrator or an investigator of the case may change its members');
  }

  /**
   * Adds a member, named by `{ userId }` or `{ email }` (any case): an unknown or disabled
   * user answers 422 naming the field given. Administrators and member investigators only.
   */
  async addMember(actor: Actor, caseId: string, who: string | { userId?: string; email?: string }): Promise<CaseMemberView> {
    const named = typeof who === 'string' ? { userId: who } : who;
    const field = named.userId !== undefined ? 'userId' : 'email';
    return this.db.transaction(async (tx) => {
      await this.assertMayManageMembers(actor, caseId, tx);
      // Held until the member is added: a disable or a change of role committing meanwhile waits.
      const USER = `SELECT id, role, email, display_name FROM users`;
      const [user]: { id: string; role: string; email: string; display_name: string }[] =
        field === 'userId'
          ? await tx.query(`${USER} WHERE id = $1 AND disabled_at IS NULL FOR SHARE`, [named.userId])
          : await tx.query(`${USER} WHERE lower(email) = lower($1) AND disabled_at IS NULL FOR SHARE`, [named.email?.trim() ?? '']);
      if (!user) throw unprocessable('No such user', [{ field, message: `no active user has this ${field === 'userId' ? 'id' : 'email'}` }]);
      const [added]: { added_at: Date }[] = await tx.query(
        `INSERT INTO case_members (case_id, user_id, added_by) VALUES ($1, $2, $3)
         ON CONFLICT DO NOTHING RETURNING added_at`,
        [caseId, user.id, actor.id],
      );
      if (!added) throw conflict('The user is already a member of this case');
      await this.custody.append(tx, {
        action: 'case.member_added',
        actor,
        caseId,
        subject: { type: 'case', id: caseId },
        details: { userId: user.id, role: user.role },
      });
      // The member as added, not as read after the commit: a removal committing meanwhile
      // would leave nothing to answer with.
      return memberView({ user_id: user.id, email: user.email, display_name: user.display_name, role: user.role, added_at: added.added_at, added_by: actor.id }, may(actor.role, 'case.members.emails'));
    });
  }

  async removeMember(actor: Actor, caseId: string, userId: string): Promise<void> {
    await this.db.transaction(async (tx) => {
      await this.assertMayManageMembers(actor, caseId, tx);
      // TypeORM answers a DELETE with [rows, affected count].
      const [, removed] = await tx.query(`DELETE FROM case_members WHERE case_id = $1 AND user_id = $2`, [caseId, userId]);
      if (removed === 0) throw notFound('The member');
      await this.custody.append(tx, {
        action: 'case.member_removed',
        actor,
        caseId,
        subject: { type: 'case', id: caseId },
        details: { userId },
      });
    });
  }
}

/** An administrator knows every case that exists; anyone else only the cases they are a member of. */
function mayKnowCase(actor: Actor, isMember: boolean): boolean {
  return scopeOf(actor.role, 'case.read') === 'any' || isMember;
}
