export * from './schema';
export * from './load-config';
export * from './admin-config';
export * from './startup';
