import { InitialSchema1764400000000 } from './1764400000000-initial-schema';

export { InitialSchema1764400000000 };

/** Every migration, oldest first. Never edit a released one: add a new one here. */
export const MIGRATIONS = [InitialSchema1764400000000];
