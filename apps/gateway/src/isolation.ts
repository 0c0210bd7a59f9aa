import type { Logger, NodeId } from '@voiceroom/protocol';

/** What a node answers on `GET /cluster/log`: whether the event log flows for it. */
export interface LogWitness {
  node: NodeId;
  /** It holds the cluster state. */
  live: boolean;
  /** How long ago its own last beat came back from the log (null when not live). */
  ownBeatAgeMs: number | null;
  /** Whether it still counts the asking node (`?node=`) among the cluster's nodes (false: declared lost). */
  countsAsker: boolean | null;
  /** For how long its own beats have come back without a long silence (null when not live). */
  flowingForMs: number | null;
}

/** The node, as the watch sees it. */
export interface IsolationHost {
  /** How long ago this node's own beat came back from the log; undefined when not live. */
  ownBeatAgeMs(): number | undefined;
  /** This node's id (sent to the witnesses). */
  readonly nodeId: NodeId;
  /** The other nodes of the cluster state that published a NODE_URL. */
  peers(): { id: NodeId; url: string }[];
  /** This node is cut off while others are not: send its members to them. */
  isolate(witnesses: NodeId[]): void;
  /** Its own beats come back: take new members again. */
  rejoin(): void;
}

export interface IsolationOptions {
  /** The node timeout: past it without its own beat, any node hearing the log has declared this one lost. */
  timeoutMs: number;
  /** How often to look (the beat interval). */
  checkEveryMs: number;
  /**
   * Own beats must stay missing this long past the timeout, as seen by this watch's own looks,
   * before the others are asked: a process that was frozen (a long GC, SIGSTOP) wakes with old
   * beats and catches up with the log within moments; it is not cut off.
   */
  confirmMs: number;
  /** Per witness request. */
  probeTimeoutMs: number;
  log: Logger;
}

/**
 * Tells a cut from an outage. The cluster talks only through the event log, so a node that stops
 * hearing its own beats cannot tell, from the log, whether the broker is down for everyone (then
 * its local rooms should go on: nobody is better off elsewhere) or only for it (then the others
 * have declared it lost, and its members would hear everyone again on another node). So it asks
 * the other nodes over HTTP (their NODE_URL, from their beats): if one of them still hears its own
 * beats, has been hearing them for longer than this node has been deaf, and has declared this node
 * lost, this node is the one cut off and sends its members away (`isolate`). Otherwise it stays:
 * nobody hears the log (an outage), or the others only heard it again after this node lost it (an
 * outage this node is slower to come back from: it takes its members back when it does), or
 * nobody answers (this node is cut from everything, or alone).
 */
export class IsolationWatch {
  isolated = false;
  private timer: NodeJS.Timeout | undefined;
  private probing = false;
  /** When a look first found the own beats missing past the timeout. */
  private staleSince: number | undefined;
  private outageLogged = false;

  constructor(
    private readonly host: IsolationHost,
    private readonly options: IsolationOptions,
    private readonly fetchImpl: typeof fetch = fetch,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.check(), this.options.checkEveryMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** One look (exposed for tests; the timer calls it). */
  async check(): Promise<void> {
    const age = this.host.ownBeatAgeMs();
    if (age === undefined) return;
    if (age <= this.options.timeoutMs) {
      this.outageLogged = false;
      this.staleSince = undefined;
      if (this.isolated) {
        this.isolated = false;
        this.options.log.info({ ownBeatAgeMs: age }, 'own beats are back: the event log flows again, taking members again');
        this.host.rejoin();
      }
      return;
    }
    if (this.isolated || this.probing) return;
    const now = Date.now();
    this.staleSince ??= now;
    if (now - this.staleSince < this.options.confirmMs) return;
    this.probing = true;
    try {
      const peers = this.host.peers();
      const answers = await Promise.all(peers.map((peer) => this.probe(peer.url)));
      if (this.isolated || (this.host.ownBeatAgeMs() ?? 0) <= this.options.timeoutMs) return;
      const witnesses = answers.filter(
        (a): a is LogWitness =>
          a !== undefined &&
          a.live &&
          a.ownBeatAgeMs !== null &&
          a.ownBeatAgeMs <= this.options.timeoutMs &&
          a.countsAsker === false &&
          a.flowingForMs !== null &&
          a.flowingForMs > age,
      );
      if (witnesses.length > 0) {
        this.isolated = true;
        this.host.isolate(witnesses.map((w) => w.node));
        return;
      }
      if (!this.outageLogged) {
        this.outageLogged = true;
        const answered = answers.filter((a) => a !== undefined).length;
        this.options.log.warn(
          { ownBeatAgeMs: age, peers: peers.length, answered },
          answered > 0
            ? 'no node has heard the event log all along while this one did not (an outage): local rooms go on'
            : 'own beats stopped and no other node answers: keeping local rooms (set NODE_URL on every node to tell a cut from an outage)',
        );
      }
    } finally {
      this.probing = false;
    }
  }

  private async probe(url: string): Promise<LogWitness | undefined> {
    try {
      const target = new URL('/cluster/log', url);
      target.searchParams.set('node', this.host.nodeId);
      const response = await this.fetchImpl(target, { signal: AbortSignal.timeout(this.options.probeTimeoutMs) });
      if (!response.ok) return undefined;
      const body = (await response.json()) as Partial<LogWitness>;
      if (typeof body.node !== 'string' || typeof body.live !== 'boolean') return undefined;
      return {
        node: body.node,
        live: body.live,
        ownBeatAgeMs: typeof body.ownBeatAgeMs === 'number' ? body.ownBeatAgeMs : null,
        countsAsker: typeof body.countsAsker === 'boolean' ? body.countsAsker : null,
        flowingForMs: typeof body.flowingForMs === 'number' ? body.flowingForMs : null,
      };
    } catch {
      return undefined;
    }
  }
}
