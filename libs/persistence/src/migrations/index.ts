import { InitialSchema1764400000000 } from './1764400000000-initial-schema';
import { RoomEvents1764900000000 } from './1764900000000-room-events';

export { InitialSchema1764400000000, RoomEvents1764900000000 };

/** Every migration, oldest first. Never edit a released one: add a new one here. */
export const MIGRATIONS = [InitialSchema1764400000000, RoomEvents1764900000000];
