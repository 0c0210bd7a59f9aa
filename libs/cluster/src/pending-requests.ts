import type { NodeId } from '@voiceroom/protocol';

/**
 * Request/outcome correlation for one node of the event log: the one table in which a node keeps
 * the requests it published (joins, resumes, commands, admin actions) until the log applies them.
 *
 * The contract:
 * - `open` hands out a request id, `<prefix><n>`, unique among this node's tables as long as
 *   their prefixes differ (a gateway uses its incarnation, `<inc>.`; the cluster port `admin.`),
 *   and arms the request's timeout;
 * - an outcome the log applied is matched with `take(origin, req)`: only the node that published
 *   the entry (`origin`) settles it, once; an outcome whose request is no longer pending (timed
 *   out, given up, taken by `takeAll`) takes nothing, and what to do about it (undo a join nobody waits for)
 *   is the caller's business;
 * - `onTimeout` runs exactly once for a request that nothing took within `timeoutMs`, or that was
 *   given up (`expire`: its publish failed; `expireWhere`: the node lost the state). It is never
 *   called after `take` or `takeAll`, nor for a request opened while it runs.
 */
export class PendingRequests<T> {
  private readonly pending = new Map<string, { value: T; timer: NodeJS.Timeout }>();
  private next = 0;

  constructor(
    /** The node whose requests these are: outcomes of other origins are never ours. */
    private readonly nodeId: NodeId,
    private readonly prefix: string,
    private readonly timeoutMs: number,
    private readonly onTimeout: (value: T, req: string) => void,
  ) {}

  get size(): number {
    return this.pending.size;
  }

  /** Opens a request for `value`; the id goes in the published entry's `req`. */
  open(value: T): string {
    const req = `${this.prefix}${++this.next}`;
    const timer = setTimeout(() => this.expire(req), this.timeoutMs);
    this.pending.set(req, { value, timer });
    return req;
  }

  /** The outcome of `req`, published by `origin`, was applied: the waiting value, removed, or undefined. */
  take(origin: NodeId, req: string): T | undefined {
    if (origin !== this.nodeId) return undefined;
    const p = this.pending.get(req);
    if (!p) return undefined;
    this.pending.delete(req);
    clearTimeout(p.timer);
    return p.value;
  }

  /** Gives up on `req` now (e.g. its entry was not stored): `onTimeout` runs if it was pending. */
  expire(req: string): void {
    const p = this.pending.get(req);
    if (!p) return;
    this.pending.delete(req);
    clearTimeout(p.timer);
    this.onTimeout(p.value, req);
  }

  /** Gives up on every pending request whose value matches, as `expire` does, oldest first. */
  expireWhere(matches: (value: T) => boolean): void {
    for (const [req, p] of [...this.pending]) if (matches(p.value)) this.expire(req);
  }

  /** Takes every pending request at once, oldest first, without calling `onTimeout` (the node lost the state or is closing). */
  takeAll(): T[] {
    const values: T[] = [];
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      values.push(p.value);
    }
    this.pending.clear();
    return values;
  }
}
