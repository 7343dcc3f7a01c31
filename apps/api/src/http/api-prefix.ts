/** The API's base path (api.md: `/api/v1`), without its leading slash as Nest takes it. */
export const API_PREFIX = 'api/v1';
