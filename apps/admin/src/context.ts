import type { FastifyRequest } from 'fastify';
import type { DataSource } from 'typeorm';
import type { AdminConfig } from '@voiceroom/config';
import { ClusterUnavailableError, type AdminRequest, type ClusterPort } from '@voiceroom/cluster';
import { AuditEntryEntity } from '@voiceroom/persistence';
import type { TokenService } from '@voiceroom/tokens';
import { ApiError } from './errors';
import type { Reconciler } from './reconcile';

/** What every route of the admin API works with. */
export interface AdminContext {
  config: Pick<AdminConfig, 'rooms' | 'tokenMaxTtlSeconds'>;
  ds: DataSource;
  cluster: ClusterPort;
  tokens: TokenService;
  reconciler: Reconciler;
  stats: AdminStats;
}

/** Counters of the admin API, read by /metrics. */
export interface AdminStats {
  /** Admin requests on the event log: applied, refused by the cluster, stored for later (202), or failed (503). */
  actions: { applied: number; refused: number; deferred: number; unavailable: number };
  /** Requests answered 503 because the database was unavailable. */
  databaseUnavailable: number;
}

export function emptyAdminStats(): AdminStats {
  return { actions: { applied: 0, refused: 0, deferred: 0, unavailable: 0 }, databaseUnavailable: 0 };
}

/** Writes one audit entry for the request's principal. */
export async function audit(
  ctx: AdminContext,
  request: FastifyRequest,
  action: string,
  targetType: string,
  targetId: string | null,
  details: Record<string, unknown> | null = null,
): Promise<void> {
  const repo = ctx.ds.getRepository(AuditEntryEntity);
  await repo.insert(repo.create({ actor: request.principal?.actor ?? 'anonymous', action, targetType, targetId, details, at: Date.now() }));
}

/**
 * Publishes a request on the event log and waits until it is applied. Refusals become API
 * errors. When the log cannot take it (broker down, node not in sync): a room or ban change,
 * already stored in the database, is applied later by the reconciler and this returns false
 * (the route answers 202 Accepted); a live action (kick, mute, role, notice) is a 503.
 */
export async function act(ctx: AdminContext, request: AdminRequest): Promise<boolean> {
  let refusal;
  try {
    refusal = await ctx.cluster.request(request);
  } catch (error) {
    if ((request.t === 'room' || request.t === 'ban' || request.t === 'unban') && error instanceof ClusterUnavailableError) {
      ctx.stats.actions.deferred++;
      ctx.reconciler.soon();
      return false;
    }
    ctx.stats.actions.unavailable++;
    throw error;
  }
  if (!refusal) {
    ctx.stats.actions.applied++;
    return true;
  }
  ctx.stats.actions.refused++;
  switch (refusal.code) {
    case 'UNKNOWN_MEMBER':
      throw new ApiError(404, 'MEMBER_NOT_FOUND', refusal.message);
    case 'SEATS_FULL':
      throw new ApiError(409, 'SEATS_FULL', refusal.message);
    default:
      throw new ApiError(409, 'NOT_APPLICABLE', refusal.message);
  }
}
