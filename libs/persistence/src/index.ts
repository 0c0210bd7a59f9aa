// TypeORM reads decorator metadata through the Reflect API: load the polyfill once, before any entity.
import 'reflect-metadata';

export * from './entities';
export * from './migrations';
export * from './data-source';
export * from './migrate';
export * from './errors';
export type { JsonObject } from './entities/columns';
