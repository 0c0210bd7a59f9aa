export { registerAdmin, adminReadiness, createAdminFastify, frameworkErrors, type AdminPluginOptions, type AdminParts } from './app';
export { runAdminServer } from './server';
export { ensureBootstrapKey } from './bootstrap';
export { ADMIN_AUDIENCE, ROLES, type AdminRole, hashSecret, newApiKey } from './auth';
export { connectDatabase } from './database';
export { readHistory } from './chat-archive';
