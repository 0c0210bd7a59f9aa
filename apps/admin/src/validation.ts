import type { FastifyInstance } from 'fastify';
import { AjvCompiler } from '@fastify/ajv-compiler';

/**
 * How the admin API validates requests (docs/admin-api.md §4, "Input types"):
 *
 * - **Bodies** are JSON and are checked as they are: no type is converted. `"5"` is not an
 *   integer, `42` is not a string, `true` is not a number, `[5]` is not `5`: each is
 *   `400 VALIDATION_FAILED` naming the field. (Fastify's Ajv converts types by default.)
 * - **Query strings and path parameters** are text, so they are converted, by these rules only:
 *   an integer is written in decimal digits, optionally after a `-`, at most 15 digits
 *   (`^-?[0-9]{1,15}$`: not `2.0`, `2e1`, `0x14`, `+2`, ` 2`, `Infinity`); a boolean is exactly
 *   `true` or `false`; a string is taken as it is (percent-decoded). A name given twice is
 *   refused (`must be integer`, `must be string`, ...).
 *
 * Installed on the instance the admin routes are registered on (the admin server's, or the
 * gateway's when embedded), whatever Ajv options that instance was built with; it must run before
 * any route with a schema is added.
 */
export function installStrictValidation(app: FastifyInstance): void {
  // Fastify's own validator factory (Ajv with its formats and the shared schemas), built twice.
  const pool = AjvCompiler() as unknown as (externalSchemas: unknown, options: AjvOptions) => (route: Route) => Validate;
  const buildValidator = (externalSchemas: unknown, ajvOptions: AjvOptions | undefined) => {
    const options: AjvOptions = { customOptions: {}, plugins: [], ...(ajvOptions ?? {}) };
    const converting = pool(externalSchemas, options);
    const exact = pool(externalSchemas, { ...options, customOptions: { ...options.customOptions, coerceTypes: false } });
    return (route: Route): Validate => {
      if (route.httpPart === 'body') return exact(route);
      const validate = converting(route);
      if (route.httpPart !== 'querystring' && route.httpPart !== 'params') return validate;
      return withDecimalIntegers(validate, route.schema);
    };
  };
  app.setSchemaController({ compilersFactory: { buildValidator: buildValidator as unknown as BuildValidator } });
}

type BuildValidator = NonNullable<NonNullable<Parameters<FastifyInstance['setSchemaController']>[0]['compilersFactory']>['buildValidator']>;
interface AjvOptions {
  customOptions?: Record<string, unknown>;
  plugins?: unknown[];
}
interface Route {
  schema: unknown;
  method: string;
  url: string;
  httpPart?: string;
}

/** How an integer may be written in a query string or a path. */
export const DECIMAL_INTEGER = /^-?[0-9]{1,15}$/;

type Validate = ((data: unknown) => boolean | Promise<unknown>) & { errors?: unknown[] | null };

/**
 * Ajv's conversion takes `2e1`, `0x14`, ` 20` and `1e309` (Infinity) as numbers: refuse every
 * form but plain decimal digits before it converts.
 */
function withDecimalIntegers(validate: Validate, schema: unknown): Validate {
  const properties = (schema as { properties?: Record<string, { type?: unknown }> } | undefined)?.properties ?? {};
  const numeric = Object.keys(properties).filter((key) => properties[key]?.type === 'integer' || properties[key]?.type === 'number');
  if (numeric.length === 0) return validate;
  const wrapped: Validate = (data) => {
    if (typeof data === 'object' && data !== null) {
      for (const key of numeric) {
        const value = (data as Record<string, unknown>)[key];
        const values = Array.isArray(value) ? value : [value];
        if (values.some((v) => typeof v === 'string' && !DECIMAL_INTEGER.test(v))) {
          wrapped.errors = [
            {
              keyword: 'type',
              instancePath: `/${key}`,
              schemaPath: `#/properties/${key}/type`,
              params: { type: 'integer' },
              message: 'must be an integer written in decimal digits (at most 15)',
            },
          ];
          return false;
        }
      }
    }
    const ok = validate(data);
    wrapped.errors = validate.errors ?? null;
    return ok;
  };
  return wrapped;
}
