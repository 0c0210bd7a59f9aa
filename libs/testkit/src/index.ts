export * from './paths';
export * from './wait';
export * from './rocketmq';
export * from './gateway-process';
export * from './tokens';
export * from './voice-client';
export * from './mysql';
export * from './tcp-proxy';
