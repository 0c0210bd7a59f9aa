/**
 * The admin REST API as the console uses it (docs/admin-api.md): the credential goes in the
 * Authorization header of each request, never in a URL. Failures become `ApiFailure`, and
 * `inWords` says what each one means to the person at the console.
 */
export interface Room {
  id: string;
  name: string;
  capacity: number;
  seats: number;
  status: 'open' | 'closed';
  createdAt: string;
  updatedAt: string;
  online: number;
}
export type MemberRole = 'host' | 'speaker' | 'listener';
export interface Member {
  userId: string;
  sid: number;
  name?: string;
  role: MemberRole;
  muted: boolean;
  handRaised: boolean;
  node: string | null;
}
export interface Ban {
  id: number;
  userId: string;
  roomId: string | null;
  reason: string;
  expiresAt: string | null;
  createdAt: string;
  createdBy: string;
  revokedAt: string | null;
  active: boolean;
}
export interface ChatItem {
  id: number;
  kind: 'chat' | 'notice';
  userId: string | null;
  name: string | null;
  text: string;
  sentAt: string;
}
export interface AuditEntry {
  id: number;
  actor: string;
  action: string;
  targetType: string;
  targetId: string;
  details: unknown;
  at: string;
}
export interface ClusterStats {
  rooms: { configured: number; open: number; live: number };
  membersOnline: number;
  nodes: { id: string; live: boolean; members: number }[];
}

/** A request the API (or the network) refused. `status` 0: no answer at all. */
export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'ApiFailure';
  }

  /** The credential itself was refused: the console signs out. */
  get signedOut(): boolean {
    return this.status === 401;
  }
}

/** The answer of a change: `accepted` (202) when it is stored but the cluster applies it later. */
export interface Answer<T> {
  body: T;
  accepted: boolean;
}

export class AdminApi {
  constructor(
    private readonly key: string,
    private readonly base = new URL('../', location.href),
  ) {}

  async request<T>(method: string, path: string, body?: unknown): Promise<Answer<T>> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.key}`, accept: 'application/json' };
    // A body-less POST or DELETE must not claim JSON (400 BAD_REQUEST).
    if (body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await fetch(new URL(path.replace(/^\//, ''), this.base), {
        method,
        headers,
        cache: 'no-store',
        credentials: 'omit',
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch {
      throw new ApiFailure(0, 'NETWORK', 'no answer');
    }
    const text = await response.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    if (!response.ok) {
      const error = (json as { error?: { code?: unknown; message?: unknown; field?: unknown } } | undefined)?.error;
      throw new ApiFailure(
        response.status,
        typeof error?.code === 'string' ? error.code : `HTTP_${response.status}`,
        typeof error?.message === 'string' ? error.message : response.statusText,
        typeof error?.field === 'string' ? error.field : undefined,
      );
    }
    return { body: json as T, accepted: response.status === 202 };
  }

  async get<T>(path: string, query: Record<string, string | number | undefined> = {}): Promise<T> {
    const params = new URLSearchParams();
    for (const [name, value] of Object.entries(query)) if (value !== undefined && value !== '') params.set(name, String(value));
    const search = params.toString();
    return (await this.request<T>('GET', search ? `${path}?${search}` : path)).body;
  }
}

/** Path segment for an id (ids are `[A-Za-z0-9_.:-]`, but never trust that in a URL). */
export const seg = (id: string): string => encodeURIComponent(id);

const WORDS: Record<string, string> = {
  NETWORK: 'The admin API did not answer: check that it is running and reachable from this browser.',
  UNAUTHENTICATED: 'Sign in with an API key first.',
  INVALID_CREDENTIALS: 'That key was refused: it is unknown, revoked or mistyped. Sign in again.',
  TOKEN_EXPIRED: 'Your admin token has expired. Sign in with a new one.',
  ROOM_NOT_FOUND: 'There is no such room.',
  BAN_NOT_FOUND: 'There is no such ban.',
  ROOM_EXISTS: 'A room with that id or that name exists already.',
  SEATS_FULL: 'Every speaker seat of the room is taken: free one, or give the room more seats, first.',
  ROOM_EMPTY: 'Nobody is in the room to read a notice.',
  ROOM_CLOSED: 'The room is closed.',
  USER_BANNED: 'That user is banned from the room.',
  BAN_ALREADY_LIFTED: 'That ban was lifted already.',
  BODY_TOO_LARGE: 'That is too much text.',
  DATABASE_UNAVAILABLE: 'The admin API cannot reach its database right now; try again in a few seconds.',
  CLUSTER_UNAVAILABLE:
    'The cluster did not take the action in time (the broker is unreachable, or the admin API is not in sync yet). Check the roster before trying again.',
  ROUTE_NOT_FOUND: 'This server does not offer that part of the admin API.',
  INTERNAL: 'The admin API failed unexpectedly; its log has the details.',
};

/** What a failure means, in a sentence (`doing`: what was being attempted, e.g. "Kick bob"). */
export function inWords(error: unknown, doing: string): string {
  if (!(error instanceof ApiFailure)) return `${doing} failed: ${error instanceof Error ? error.message : String(error)}.`;
  switch (error.code) {
    case 'FORBIDDEN': {
      const m = /needs the (\w+) role; the credential has (\w+)/.exec(error.message);
      return m ? `${doing}: not allowed. This needs the ${m[1]} role, and your key has the ${m[2]} role.` : `${doing}: not allowed for your key.`;
    }
    case 'MEMBER_NOT_FOUND':
      return `${doing}: that member is no longer in the room.`;
    case 'VALIDATION_FAILED': {
      const field = error.field?.split('/').pop();
      const rule = error.field ? error.message.replace(error.field, '').trim() : error.message;
      return field ? `${doing}: the ${field} is not valid (${rule}).` : `${doing}: ${error.message}.`;
    }
    default: {
      const words = WORDS[error.code];
      return words ? `${doing}: ${words}` : `${doing} failed: ${error.message} (${error.code}, HTTP ${error.status}).`;
    }
  }
}
