export * from './cluster-state';
export * from './log-events';
export * from './replica';
export * from './cluster-port';
