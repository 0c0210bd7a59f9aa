import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';

/**
 * The gateway's own HTTP routes (the page's files, /dev/...) answer errors in the one shape the
 * admin API documents (docs/admin-api.md §3): { "error": { "code", "message", "field"? } }.
 */
export function errorBody(code: string, message: string, field?: string): { error: { code: string; message: string; field?: string } } {
  return { error: field === undefined ? { code, message } : { code, message, field } };
}

/** Codes for the framework's client errors, by status. */
const CODES: Readonly<Record<number, string>> = {
  400: 'BAD_REQUEST',
  403: 'FORBIDDEN',
  404: 'ROUTE_NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  406: 'NOT_ACCEPTABLE',
  413: 'BODY_TOO_LARGE',
  414: 'URI_TOO_LONG',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  416: 'RANGE_NOT_SATISFIABLE',
};

/** setNotFoundHandler: 404 ROUTE_NOT_FOUND (the admin API's code for the same case). */
export function notFoundHandler(request: FastifyRequest, reply: FastifyReply): void {
  void reply.code(404).send(errorBody('ROUTE_NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`));
}

/**
 * setErrorHandler for the gateway's routes: schema violations are 400 VALIDATION_FAILED with the
 * failing field, the framework's and the static file server's client errors keep their status
 * with a stable code (a refused path is 403 FORBIDDEN, not BAD_REQUEST), anything else is a 500
 * without details, logged.
 */
export function gatewayErrorHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  if (error.validation && error.validation.length > 0) {
    const first = error.validation[0]!;
    const params = first.params;
    let field = `/${error.validationContext ?? 'body'}${first.instancePath}`;
    if (typeof params.missingProperty === 'string') field += `/${params.missingProperty}`;
    if (typeof params.additionalProperty === 'string') field += `/${params.additionalProperty}`;
    const what = typeof params.additionalProperty === 'string' ? 'is not allowed' : (first.message ?? 'is invalid');
    void reply.code(400).send(errorBody('VALIDATION_FAILED', `${field} ${what}`, field));
    return;
  }
  const status = error.statusCode ?? (error as { status?: number }).status;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    void reply.code(status).send(errorBody(CODES[status] ?? 'BAD_REQUEST', error.message));
    return;
  }
  request.log.error({ err: error }, 'unexpected error');
  void reply.code(500).send(errorBody('INTERNAL', 'internal error (logged on the server)'));
}
