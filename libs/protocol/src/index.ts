export * from './ids';
export * from './voice-frame';
export * from './close-codes';
export * from './control';
export * from './names';
export type { Logger } from './logger';
