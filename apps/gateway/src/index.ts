export { buildApp, type BuildOptions, type GatewayPlugin, type GatewayPluginHost } from './app';
export { reportUnhandledRejections, runGateway, type RunOptions } from './run';
export { GatewayNode } from './gateway-node';
export type { GatewayStats } from './gateway-stats';
export { createTokenService, JOIN_AUDIENCE, type TokenService, type JoinClaims } from '@voiceroom/tokens';
