/**
 * The cross-node room scenarios: a room behaves as one room whichever gateway each member is on.
 * One suite, run against every way of joining two gateways (style.md, habit 3):
 * - cluster-rooms.test.ts: two gateway PROCESSES joined only by the real RocketMQ (`npm test`);
 * - cluster-rooms-memory.test.ts: two gateways in the jest process on one memory exchange
 *   (`npm run test:unit`: no RocketMQ, no database; most regressions show in seconds).
 */
import type { Socket } from 'node:net';
import WebSocket from 'ws';
import { CloseCode, ErrorCode, type SpeakerId } from '@voiceroom/protocol';
import { VoiceRoomError } from '@voiceroom/client';
import { awaitVoicePath as awaitVoicePathOf, joinToken, RecordingClient, sleep, waitFor, type TestRole } from '@voiceroom/testkit';

/** What a scenario needs of a gateway: where clients connect, and its /metrics. */
export interface ScenarioGateway {
  readonly wsUrl: string;
  /** The value of an unlabelled series of its /metrics. */
  metric(name: string): Promise<number>;
}

/** The settings both runs give their gateways (short beats, grace and speakers interval; 6 places, 2 seats). */
export const CLUSTER_TEST_ENV = {
  NODE_BEAT_INTERVAL_MS: '500',
  NODE_TIMEOUT_MS: '3000',
  CLUSTER_SYNC_TIMEOUT_MS: '1500',
  RESUME_GRACE_MS: '3000',
  ROOM_CAPACITY: '6',
  ROOM_SEATS: '2',
  COMMANDS_PER_SEC: '50',
  COMMAND_BURST: '50',
  SPEAKERS_INTERVAL_MS: '200',
};

/**
 * Defines the scenarios (at the top level of a test file). `start` runs in beforeAll and returns
 * two gateways started with CLUSTER_TEST_ENV, ready, on one cluster, and how to stop them.
 */
export function roomScenarios(start: () => Promise<{ gateways: [ScenarioGateway, ScenarioGateway]; stop(): Promise<void> }>): void {
  const RUN = Date.now().toString(36);
  const room = (name: string) => `${name}-${RUN}`;
  let gw1: ScenarioGateway;
  let gw2: ScenarioGateway;
  let stop: (() => Promise<void>) | undefined;
  const clients: RecordingClient[] = [];

  beforeAll(async () => {
    const started = await start();
    [gw1, gw2] = started.gateways;
    stop = () => started.stop();
  });

  afterAll(async () => {
    await stop?.();
  });

  async function join(gateway: ScenarioGateway, user: string, roomName: string, role: TestRole = 'speaker'): Promise<RecordingClient> {
    const client = new RecordingClient(gateway.wsUrl);
    clients.push(client);
    await client.connect(joinToken(user, roomName, role));
    return client;
  }

  const awaitVoicePath = (speaker: RecordingClient, listener: RecordingClient) => awaitVoicePathOf(speaker, listener, clients);

  const tags = (c: RecordingClient, from: SpeakerId) => c.heardFrom(from).map((h) => h.payload.readUInt32BE(0));

  afterEach(() => {
    for (const c of clients.splice(0)) c.close();
  });

  describe('roster and room events across nodes', () => {
    it('members on different nodes see the same roster, roles and mute state, and the same room events in the same order', async () => {
      const r = room('roster');
      const host = await join(gw1, 'host', r, 'host');
      const alice = await join(gw2, 'alice', r, 'speaker');
      const bob = await join(gw1, 'bob', r, 'listener');
      const carol = await join(gw2, 'carol', r, 'listener');
      const everyone = [host, alice, bob, carol];
      expect(carol.joined?.members.map((m) => m.userId).sort()).toEqual(['alice', 'bob', 'host']);

      host.mute(alice.sid);
      bob.raiseHand();
      carol.chat('hello from node 2');
      const expected = ['alice:speaker:muted:-', 'bob:listener:open:hand', 'carol:listener:open:-', 'host:host:open:-'];
      await waitFor(
        'everyone to see the room after the three commands',
        () => everyone.every((c) => JSON.stringify(c.view()) === JSON.stringify(expected) && c.chats.length === 1 && c.seq === host.seq),
        15_000,
      );
      // Events after the last join carry the same seqs everywhere.
      const afterJoins = (c: RecordingClient) => c.roomEvents.filter((e) => Number(e.split(':')[0]) > (carol.joined?.seq ?? 0));
      for (const c of everyone) expect(afterJoins(c)).toEqual(afterJoins(host));
      // Commands sent at once from two nodes: the log picks one order, the same for everyone.
      expect(
        afterJoins(host)
          .map((e) => e.split(':').slice(1).join(':'))
          .sort(),
      ).toEqual(['chat:hello from node 2', 'members_updated:hand/bob', 'members_updated:mute/alice']);
    });

    it('holds the room capacity across the cluster when many join at once on both nodes', async () => {
      const r = room('capacity');
      const attempts = await Promise.allSettled([...Array(10).keys()].map((i) => join(i % 2 === 0 ? gw1 : gw2, `burst-${i}`, r, 'listener')));
      const joined = attempts.filter((a): a is PromiseFulfilledResult<RecordingClient> => a.status === 'fulfilled').map((a) => a.value);
      const refused = attempts.filter((a): a is PromiseRejectedResult => a.status === 'rejected').map((a) => a.reason as VoiceRoomError);
      expect(joined).toHaveLength(6);
      expect(refused.map((e) => e.code)).toEqual([CloseCode.RoomFull, CloseCode.RoomFull, CloseCode.RoomFull, CloseCode.RoomFull]);
      await waitFor('every member to see all six', () => joined.every((c) => c.members.size === 5), 15_000);
    });

    it('announces the active speakers of a room a few times a second, not per frame', async () => {
      const r = room('speakers');
      const speaker = await join(gw1, 'talker', r, 'speaker');
      const listener = await join(gw2, 'ear', r, 'listener');
      await awaitVoicePath(speaker, listener);
      listener.speakerAnnouncements.length = 0;
      await speaker.speak(50, 0x5, 20, 100); // one second of speech at level 20
      await waitFor('the talker announced', () => listener.speakerAnnouncements.some((a) => a.some((s) => s.sid === speaker.sid)), 10_000);
      await sleep(1000);
      const announced = listener.speakerAnnouncements.filter((a) => a.some((s) => s.sid === speaker.sid));
      expect(announced.length).toBeLessThan(20); // 50 frames; every 200 ms at most
      expect(announced[0]?.find((s) => s.sid === speaker.sid)?.level).toBe(20);
      expect(listener.speakerAnnouncements.at(-1)).toEqual([]); // and once when it stopped
    });
  });

  describe('commands sent before the cluster confirmed the join', () => {
    it('are held and run after joined, in order, with no error', async () => {
      const r = room('early');
      const peer = await join(gw1, 'peer', r, 'listener');
      const ws = new WebSocket(gw2.wsUrl);
      const received: { type: string; seq?: number; text?: string }[] = [];
      ws.on('message', (data, isBinary) => {
        if (!isBinary) received.push(JSON.parse((data as Buffer).toString()) as { type: string });
      });
      await new Promise((resolve) => ws.once('open', resolve));
      ws.send(JSON.stringify({ type: 'join', token: joinToken('early', r, 'speaker') }));
      ws.send(JSON.stringify({ type: 'chat', text: 'first', ref: 1 })); // the join is still on its way through the log
      ws.send(JSON.stringify({ type: 'chat', text: 'second', ref: 2 }));
      await waitFor('both chats at the peer', () => peer.chats.length === 2, 10_000);
      expect(peer.chats.map((c) => c.text)).toEqual(['first', 'second']);
      const types = received.map((m) => m.type);
      expect(types[0]).toBe('joined');
      expect(types).not.toContain('error');
      ws.close();
    });
  });

  describe('roles and seats', () => {
    it("drops a listener's audio; raise hand, a host on the other node accepts, and it is heard", async () => {
      const r = room('hand');
      const host = await join(gw1, 'host', r, 'host');
      const listener = await join(gw2, 'lis', r, 'listener');
      const other = await join(gw1, 'other', r, 'listener');
      await listener.speak(10, 0xbad, 10);
      await waitFor('the refusal', () => listener.errors.some((e) => e.code === ErrorCode.NotAllowedToSpeak), 10_000);
      expect(await gw2.metric('voiceroom_voice_refused_not_allowed_total')).toBeGreaterThanOrEqual(10);

      listener.raiseHand();
      await waitFor('the host to see the hand', () => host.members.get(listener.sid)?.handRaised === true, 10_000);
      host.answerHand(listener.sid, true);
      await waitFor('the listener to become a speaker', () => listener.self?.role === 'speaker', 10_000);
      await awaitVoicePath(listener, host);
      await listener.speak(30, 0x900d, 20, 1000);
      await waitFor('host and other hear it', () => tags(host, listener.sid).length >= 30 && tags(other, listener.sid).length >= 30, 15_000);
      expect(tags(host, listener.sid)).not.toContain(0xbad);

      // A declined hand goes down and the role stays.
      other.raiseHand();
      await waitFor('hand seen', () => host.members.get(other.sid)?.handRaised === true, 10_000);
      host.answerHand(other.sid, false);
      await waitFor('hand down', () => other.self?.handRaised === false, 10_000);
      expect(other.self?.role).toBe('listener');
      expect(other.updates.at(-1)?.reason).toBe('hand_declined');

      // Seats: 2. The host moves `other` up (second seat), a third promotion is refused.
      const third = await join(gw2, 'third', r, 'listener');
      host.setRole(other.sid, 'speaker');
      await waitFor('other promoted', () => other.self?.role === 'speaker', 10_000);
      const ref = host.setRole(third.sid, 'speaker');
      await waitFor('seats full', () => host.errors.some((e) => e.code === ErrorCode.SeatsFull && e.ref === ref), 10_000);
      // And back down: a host moves a speaker to listener; its audio is dropped again.
      host.setRole(listener.sid, 'listener');
      await waitFor('demoted', () => listener.self?.role === 'listener', 10_000);
    });

    it('refuses host commands from a non-host with NOT_HOST', async () => {
      const r = room('nothost');
      await join(gw1, 'host', r, 'host');
      const speaker = await join(gw2, 'spk', r, 'speaker');
      const victim = await join(gw1, 'victim', r, 'speaker');
      const ref = speaker.kick(victim.sid);
      await waitFor('the refusal', () => speaker.errors.some((e) => e.code === ErrorCode.NotHost && e.ref === ref), 10_000);
      expect(victim.closeInfo).toBeUndefined();
    });
  });

  describe('moderation across nodes', () => {
    it("a host mute drops the member's audio at its node, survives a rejoin, and mute-all mutes everyone but hosts", async () => {
      const r = room('mute');
      const host = await join(gw1, 'host', r, 'host');
      let speaker = await join(gw2, 'spk', r, 'speaker');
      const ear = await join(gw1, 'ear', r, 'listener');
      await awaitVoicePath(speaker, ear);

      host.mute(speaker.sid);
      await waitFor('muted', () => speaker.self?.muted === true, 10_000);
      await speaker.speak(20, 0x111, 20, 500);
      await sleep(1000);
      expect(tags(ear, speaker.sid)).not.toContain(0x111);
      expect(speaker.errors.some((e) => e.code === ErrorCode.NotAllowedToSpeak)).toBe(true);

      speaker.close(); // leaves for good
      await waitFor('left', () => host.events.includes('left:spk'), 10_000);
      speaker = await join(gw1, 'spk', r, 'speaker'); // a fresh join on the other node
      expect(speaker.joined?.self.muted).toBe(true);

      host.mute(speaker.sid, false);
      await waitFor('unmuted', () => speaker.self?.muted === false, 10_000);
      await speaker.speak(20, 0x222, 20, 600);
      await waitFor('heard again', () => tags(ear, speaker.sid).filter((t) => t === 0x222).length >= 20, 10_000);

      host.muteAll();
      await waitFor('all muted', () => speaker.self?.muted === true && ear.self?.muted === true, 10_000);
      expect(host.self?.muted).toBe(false);
      expect(host.updates.at(-1)?.reason).toBe('mute_all');
    });

    it('a kick closes the member on the other node with 4403, everyone sees it leave, and it cannot resume', async () => {
      const r = room('kick');
      const host = await join(gw1, 'host', r, 'host');
      const victim = await join(gw2, 'victim', r, 'speaker');
      const watcher = await join(gw2, 'watcher', r, 'listener');
      host.kick(victim.sid);
      expect((await victim.waitClosed()).code).toBe(CloseCode.Kicked);
      await waitFor('leave seen', () => watcher.leaveReasons.includes('victim:kicked') && host.leaveReasons.includes('victim:kicked'), 10_000);
      await expect(victim.resume(gw1.wsUrl)).rejects.toMatchObject({ code: CloseCode.ResumeFailed });
    });

    it('the same user joining again on the other node replaces the older session; the roster never shows it twice', async () => {
      const r = room('dupe');
      const first = await join(gw1, 'dupe', r, 'speaker');
      const peer = await join(gw2, 'peer', r, 'listener');
      const second = await join(gw2, 'dupe', r, 'speaker');
      expect((await first.waitClosed()).code).toBe(CloseCode.Replaced);
      await waitFor('peer sees the new session', () => peer.members.get(second.sid)?.userId === 'dupe', 10_000);
      expect([...peer.members.values()].filter((m) => m.userId === 'dupe')).toHaveLength(1);
      expect(second.joined?.members.map((m) => m.userId)).toEqual(['peer']);
    });
  });

  describe('resume', () => {
    it('a dropped member resumes on the other node with its sid and role; missed events arrive in order; peers see no leave or join', async () => {
      const r = room('resume');
      const host = await join(gw1, 'host', r, 'host');
      const member = await join(gw1, 'mover', r, 'speaker');
      const watcher = await join(gw2, 'watcher', r, 'listener');
      const sid = member.sid;
      host.mute(member.sid);
      await waitFor('muted', () => member.self?.muted === true, 10_000);
      const seqBefore = member.seq;
      const seenBefore = new Map([host, watcher].map((c) => [c, c.events.length]));

      member.drop(); // the network goes away: no close handshake
      host.chat('one');
      host.chat('two');
      await waitFor('the chats are in the log', () => watcher.chats.length === 2, 10_000);
      const late = await join(gw2, 'late', r, 'listener'); // after them in the log, on the other node
      await waitFor('the join is seen', () => watcher.events.includes('joined:late'), 10_000);

      await member.resumeOn(gw2.wsUrl);
      expect(member.sid).toBe(sid);
      expect(member.self).toMatchObject({ role: 'speaker', muted: true });
      expect(member.resumed?.members).toBeUndefined(); // replayed, not a full roster
      expect(member.roomEvents.filter((e) => Number(e.split(':')[0]) > seqBefore).map((e) => e.split(':').slice(1).join(':'))).toEqual([
        'chat:one',
        'chat:two',
        'member_joined:late',
      ]);
      expect(member.seq).toBe(host.seq);
      expect(member.rosterUsers()).toEqual(['host', 'late', 'watcher']);
      await sleep(500);
      // No leave, no join for the mover, on either node.
      for (const peer of [host, watcher]) expect(peer.events.slice(seenBefore.get(peer)).filter((e) => e.endsWith(':mover'))).toEqual([]);
      expect(late.events).toEqual([]);

      host.mute(member.sid, false);
      await waitFor('unmuted', () => member.self?.muted === false, 10_000);
      await awaitVoicePath(member, host);
      await member.speak(20, 0xabc, 20, 2000);
      await waitFor('heard after the resume', () => tags(host, member.sid).filter((t) => t === 0xabc).length >= 20, 10_000);
    });

    it('a member that does not come back within the grace period leaves every roster, once', async () => {
      const r = room('grace');
      const watcher1 = await join(gw1, 'w1', r, 'listener');
      const gone = await join(gw2, 'gone', r, 'listener');
      const watcher2 = await join(gw2, 'w2', r, 'listener');
      gone.drop();
      await sleep(1000);
      expect(watcher1.events).not.toContain('left:gone'); // still within the grace
      await waitFor('the timeout leave', () => watcher1.leaveReasons.includes('gone:timeout') && watcher2.leaveReasons.includes('gone:timeout'), 15_000);
      await sleep(1000);
      expect(watcher1.events.filter((e) => e === 'left:gone')).toHaveLength(1);
      await expect(gone.resume(gw1.wsUrl)).rejects.toMatchObject({ code: CloseCode.ResumeFailed });
    });
  });

  describe('backpressure across nodes', () => {
    it('a slow reader on one node does not change what fast readers on either node receive', async () => {
      const r = room('slow');
      const speaker = await join(gw1, 'spk', r, 'speaker');
      const fastRemote = await join(gw2, 'fast-2', r, 'listener');
      const fastLocal = await join(gw1, 'fast-1', r, 'listener');
      const slow = await join(gw2, 'slow', r, 'listener');
      await awaitVoicePath(speaker, fastRemote);
      const slowSocket = (slow as unknown as { socket: { _socket: Socket } }).socket._socket;
      slowSocket.pause();
      await speaker.speak(150, 0x51, 20, 3000);
      await waitFor('fast readers hear all', () => tags(fastRemote, speaker.sid).length >= 150 && tags(fastLocal, speaker.sid).length >= 150, 20_000);
      const indices = (c: RecordingClient) => c.heardFrom(speaker.sid).map((h) => h.payload.readUInt32BE(4));
      expect(indices(fastRemote)).toEqual([...Array(150).keys()]);
      expect(indices(fastLocal)).toEqual([...Array(150).keys()]);
      slowSocket.resume();
    });
  });
}
