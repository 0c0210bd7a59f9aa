import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ClusterUnavailableError } from '@voiceroom/cluster';
import { isDatabaseUnavailable, isDuplicateKey } from '@voiceroom/persistence';

/**
 * Every error of the admin API has one JSON shape:
 *   { "error": { "code": "ROOM_NOT_FOUND", "message": "...", "field": "/body/capacity"? } }
 * `code` is stable (clients branch on it); `message` is for people; `field` names the failing
 * input for validation errors. docs/admin-api.md lists the codes.
 */
export interface ErrorBody {
  error: { code: string; message: string; field?: string };
}

export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export const notFound = (what: string, id: string | number): ApiError =>
  new ApiError(404, `${what.toUpperCase().replace(/ /g, '_')}_NOT_FOUND`, `no ${what.toLowerCase()} with id ${JSON.stringify(String(id))}`);

/** The shared error schema for OpenAPI (every route lists it for its 4xx/5xx). */
export const ErrorSchema = {
  $id: 'Error',
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: {
        code: { type: 'string', description: 'Stable error code' },
        message: { type: 'string' },
        field: { type: 'string', description: 'JSON pointer of the failing input (validation errors)' },
      },
    },
  },
} as const;

function body(code: string, message: string, field?: string): ErrorBody {
  return { error: field === undefined ? { code, message } : { code, message, field } };
}

/** Maps every error to the shared shape; anything unexpected is logged and becomes a 500 without details. */
export function installErrorHandling(app: FastifyInstance, stats: { databaseUnavailable: number }): void {
  app.setNotFoundHandler((request: FastifyRequest, reply: FastifyReply) => {
    void reply.code(404).send(body('ROUTE_NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`));
  });
  app.setErrorHandler((error: FastifyError | Error, request: FastifyRequest, reply: FastifyReply) => {
    if (error instanceof ApiError) {
      if (error.statusCode === 503) void reply.header('retry-after', '5');
      if (error.code === 'DATABASE_UNAVAILABLE') stats.databaseUnavailable++;
      return reply.code(error.statusCode).send(body(error.code, error.message, error.field));
    }
    const fe = error as FastifyError;
    if (fe.validation && fe.validation.length > 0) {
      const first = fe.validation[0]!;
      const params = first.params;
      let field = `/${fe.validationContext ?? 'body'}${first.instancePath}`;
      if (typeof params.missingProperty === 'string') field += `/${params.missingProperty}`;
      if (typeof params.additionalProperty === 'string') field += `/${params.additionalProperty}`;
      const what = typeof params.additionalProperty === 'string' ? 'is not allowed' : (first.message ?? 'is invalid');
      return reply.code(400).send(body('VALIDATION_FAILED', `${field} ${what}`, field));
    }
    if (isDatabaseUnavailable(error)) {
      stats.databaseUnavailable++;
      request.log.warn({ err: error }, 'database unavailable');
      return reply.code(503).header('retry-after', '5').send(body('DATABASE_UNAVAILABLE', 'the database is unavailable; retry later'));
    }
    if (error instanceof ClusterUnavailableError) {
      request.log.warn({ err: error }, 'cluster unavailable');
      return reply
        .code(503)
        .header('retry-after', '5')
        .send(body('CLUSTER_UNAVAILABLE', `the cluster could not take the action now: ${error.message}`));
    }
    if (isDuplicateKey(error)) {
      return reply.code(409).send(body('CONFLICT', 'a record with the same unique value exists'));
    }
    // Fastify's own client errors (bad JSON, wrong content type, body too large, ...).
    if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
      const code =
        fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE' ? 'BODY_TOO_LARGE' : fe.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' ? 'UNSUPPORTED_MEDIA_TYPE' : 'BAD_REQUEST';
      return reply.code(fe.statusCode).send(body(code, fe.message));
    }
    request.log.error({ err: error }, 'unexpected error');
    return reply.code(500).send(body('INTERNAL', 'internal error (logged on the server)'));
  });
}
