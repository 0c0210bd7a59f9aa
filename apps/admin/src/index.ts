export { registerAdmin, adminReadiness, createAdminFastify, type AdminPluginOptions, type AdminParts } from './app';
export { frameworkErrors } from '@voiceroom/server-kit';
export { embedAdmin, type EmbeddedAdminOptions } from './embed';
export { runAdminServer } from './server';
export { ensureBootstrapKey } from './bootstrap';
export { ADMIN_AUDIENCE, ROLES, type AdminRole, hashSecret, newApiKey } from './auth';
export { connectDatabase } from './database';
export { readHistory } from './chat-archive';
export { verifyWebhook, signWebhook, ROOM_EVENT_TYPES, type RoomEventEnvelope } from './events';
