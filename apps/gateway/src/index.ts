export { buildApp, type BuildOptions } from './app';
export { GatewayNode, type GatewayStats } from './gateway-node';
export { createTokenService, JOIN_AUDIENCE, type TokenService, type JoinClaims } from '@voiceroom/tokens';
