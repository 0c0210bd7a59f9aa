/**
 * The one logging shape every package takes: the subset of a pino logger (Fastify's `app.log`,
 * `pino()`) that the bus, the cluster, the gateway and the admin API call. A type only, here
 * because every one of them already depends on this package; pass a pino logger, or a fake in
 * tests.
 */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}
