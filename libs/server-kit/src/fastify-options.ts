import type { FastifyError, FastifyReply, FastifyRequest, FastifyServerOptions } from 'fastify';

/**
 * The Fastify options both servers share (the gateway's `buildApp`, the admin API's
 * `createAdminFastify`), merged with the server's own (`own` wins): the admin API's routes run on
 * either instance (embedded in the gateway in single-node mode), so both must validate alike and
 * answer router errors in the same JSON shape.
 */
export function serverOptions<T extends FastifyServerOptions>(own: T) {
  return {
    frameworkErrors,
    // Ids longer than the protocol's 64 characters reach validation (400 with the field) up to this.
    routerOptions: { maxParamLength: 1000 },
    bodyLimit: 64 * 1024,
    // The admin API's schemas expect these validation rules (it makes its bodies strict itself).
    ajv: { customOptions: { removeAdditional: false as const, coerceTypes: 'array' as const, useDefaults: true, allErrors: false } },
    ...own,
  };
}

/**
 * Errors the router raises before any handler (a path parameter over 100 characters, a
 * malformed URL): the same JSON shape as every other error.
 */
export function frameworkErrors(error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  const status = typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 400;
  const code = error.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 'URI_TOO_LONG' : 'BAD_REQUEST';
  void reply.code(status).send({ error: { code, message: error.message } });
}
