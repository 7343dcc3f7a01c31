import { Column, Entity, PrimaryColumn, PrimaryGeneratedColumn } from 'typeorm';

@Entity('cases')
export class CaseEntity {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column('text') title!: string;
  @Column('text', { nullable: true }) description!: string | null;
  @Column({ type: 'timestamptz', name: 'created_at', insert: false }) createdAt!: Date;
  @Column('uuid', { name: 'created_by' }) createdBy!: string;
}

@Entity('case_members')
export class CaseMemberEntity {
  @PrimaryColumn('uuid', { name: 'case_id' }) caseId!: string;
  @PrimaryColumn('uuid', { name: 'user_id' }) userId!: string;
  @Column({ type: 'timestamptz', name: 'added_at', insert: false }) addedAt!: Date;
  @Column('uuid', { name: 'added_by' }) addedBy!: string;
}

export const CASE_ENTITIES = [CaseEntity, CaseMemberEntity];
