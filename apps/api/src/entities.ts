import { AUTH_ENTITIES } from '#custodia/auth';
import { CASE_ENTITIES } from '#custodia/cases';

/** Every TypeORM entity the API maps. */
export const ENTITIES = [...AUTH_ENTITIES, ...CASE_ENTITIES];
