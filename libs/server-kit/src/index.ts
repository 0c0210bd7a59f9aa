export * from './metrics-server';
export { serverOptions, frameworkErrors } from './fastify-options';
export { retryUntil } from './retry';
