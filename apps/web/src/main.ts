/**
 * The voice-room page: join form → token (dev endpoint, or `?token=`) → SDK with automatic
 * reconnect → roster, speaking indicators, mute, hand, host controls, chat. Audio in
 * audio/engine.ts. Page options in the query string:
 *   ?gateway=wss://a/ws,wss://b/ws   the gateway WebSocket(s) (default: this origin's /ws); with
 *                                    several, a reconnect moves on to the next when one is away
 *   ?token=...               a join token from your backend (skips the dev token endpoint)
 *   ?name=Alice&room=lobby   prefill the form
 */
import { VoiceRoomClient, describeCloseCode, type ConnectionState, type StateInfo } from '@voiceroom/client';
import type { MemberInfo } from '@voiceroom/protocol';
import { AudioEngine, audioSupported } from './audio/engine';

const params = new URLSearchParams(location.search);
const gatewayUrls = (params.get('gateway') ?? `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`).split(',').filter(Boolean);
const base = location.pathname.replace(/[^/]*$/, '');
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

const STATE_WORDS: Record<ConnectionState, string> = {
  idle: 'not connected',
  connecting: 'connecting…',
  live: 'live',
  reconnecting: 'reconnecting…',
  closed: 'disconnected',
};

const ERROR_WORDS: Record<string, string> = {
  NOT_ALLOWED_TO_SPEAK: 'You cannot speak right now (listener or muted).',
  NOT_HOST: 'Only hosts can do that.',
  UNKNOWN_MEMBER: 'That person is no longer in the room.',
  SEATS_FULL: 'All speaker seats are taken.',
  INVALID_COMMAND: 'That action does not apply here.',
  COMMAND_RATE_LIMITED: 'Slow down: too many actions at once.',
  UNAVAILABLE: 'The service is busy; try again in a moment.',
  VOICE_RATE_LIMITED: 'Too much audio data was sent.',
};

let client: VoiceRoomClient | undefined;
let audio: AudioEngine | undefined;
let micMuted = false;
let sequence = 0;
const speaking = new Map<number, number>(); // sid → until (ms)
/** A frame at this level or louder (0 loudest … 127 silence, about −dBov) counts as speech. */
const SPEAKING_LEVEL = 60;
/** Every connection state the page went through (shown in the pill; kept for tests). */
const stateLog: ConnectionState[] = [];

function showError(text: string | undefined): void {
  const box = $('error');
  box.textContent = text ?? '';
  box.hidden = !text;
}

function setState(state: ConnectionState, info: StateInfo = {}): void {
  stateLog.push(state);
  const pill = $('state');
  pill.dataset.state = state;
  let words = STATE_WORDS[state];
  if (state === 'reconnecting' && info.attempt) words += ` (attempt ${info.attempt})`;
  pill.textContent = words;
  if (state === 'closed' && info.code !== undefined && info.code !== 1000) {
    showError(`Disconnected: ${info.description ?? describeCloseCode(info.code)}${info.reason ? ` (${info.reason})` : ''}.`);
  } else if (state === 'closed' && info.code === undefined && info.description && info.description !== 'closed by the application') {
    showError(`Disconnected: ${info.description}.`);
  }
  if (state === 'closed') {
    void audio?.stop();
    audio = undefined;
    $('room-view').hidden = true;
    $('join-form').hidden = false;
    $<HTMLButtonElement>('join').disabled = false;
  }
}

async function fetchToken(name: string, room: string): Promise<string> {
  const given = params.get('token');
  if (given) return given;
  const res = await fetch(`${base}dev/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name, room }) });
  const noEndpoint = 'This server does not hand out tokens (no dev token endpoint): open the page with ?token=… from your backend.';
  if (res.status === 404 || res.status === 405) throw new Error(noEndpoint);
  const body = (await res.json().catch(() => undefined)) as { token?: string; error?: { message?: string } } | undefined;
  if (!body) throw new Error(noEndpoint);
  if (!res.ok || !body.token) throw new Error(body.error?.message ?? `could not get a token (HTTP ${res.status})`);
  return body.token;
}

function canSpeakNow(): boolean {
  const self = client?.self;
  return !!self && self.role !== 'listener' && !self.muted && !micMuted;
}

function badge(text: string, kind = ''): HTMLElement {
  const b = document.createElement('span');
  b.className = `badge ${kind}`;
  b.textContent = text;
  return b;
}

function renderRoster(): void {
  const c = client;
  if (!c?.self) return;
  const list = $('roster');
  list.replaceChildren();
  const now = Date.now();
  const everyone: MemberInfo[] = [c.self, ...[...c.members.values()].sort((a, b) => a.sid - b.sid)];
  const amHost = c.self.role === 'host';
  for (const m of everyone) {
    const li = document.createElement('li');
    li.dataset.user = m.userId;
    li.dataset.sid = String(m.sid);
    if ((speaking.get(m.sid) ?? 0) > now) li.classList.add('speaking');
    const dot = document.createElement('span');
    dot.className = 'dot';
    const who = document.createElement('span');
    who.className = 'who';
    who.textContent = `${m.name ?? m.userId}${m.sid === c.self.sid ? ' (you)' : ''}`;
    li.append(dot, who, badge(m.role, m.role === 'host' ? 'host' : ''));
    if (m.muted) li.append(badge('muted', 'muted'));
    if (m.handRaised) li.append(badge('✋ hand', 'hand'));
    if (amHost && m.sid !== c.self.sid && m.role !== 'host') {
      const button = (label: string, action: () => void) => {
        const b = document.createElement('button');
        b.type = 'button';
        b.className = 'small';
        b.textContent = label;
        b.onclick = action;
        li.append(b);
      };
      if (m.handRaised) button('Accept', () => c.answerHand(m.sid, true));
      button(m.muted ? 'Unmute' : 'Mute', () => c.mute(m.sid, !m.muted));
      button(m.role === 'speaker' ? 'To listeners' : 'To speakers', () => c.setRole(m.sid, m.role === 'speaker' ? 'listener' : 'speaker'));
      button('Kick', () => c.kick(m.sid));
    }
    list.append(li);
  }
  const self = c.self;
  $('self-info').textContent =
    self.role === 'listener'
      ? 'You are listening. Raise your hand to ask to speak.'
      : self.muted
        ? 'A host muted you.'
        : micMuted
          ? 'Your microphone is muted.'
          : 'You are on the air.';
  const hand = $<HTMLButtonElement>('hand');
  hand.hidden = self.role !== 'listener';
  hand.textContent = self.handRaised ? 'Lower hand' : 'Raise hand';
  $('mute').textContent = micMuted ? 'Unmute' : 'Mute';
  if (audio) audio.sending = canSpeakNow();
}

function addMessage(kind: 'chat' | 'notice' | 'system', text: string, from?: string): void {
  const li = document.createElement('li');
  li.className = kind;
  if (from) {
    const f = document.createElement('span');
    f.className = 'from';
    f.textContent = from;
    li.append(f);
  }
  li.append(document.createTextNode(text));
  const list = $('messages');
  list.append(li);
  list.scrollTop = list.scrollHeight;
}

async function loadHistory(room: string): Promise<void> {
  try {
    const res = await fetch(`${base}dev/rooms/${encodeURIComponent(room)}/messages?limit=50`);
    if (!res.ok) return; // no history service here: only what arrives from now on
    const body = (await res.json()) as { items: { kind: string; name: string | null; userId: string | null; text: string }[] };
    for (const m of body.items.reverse())
      addMessage(m.kind === 'notice' ? 'notice' : 'chat', m.text, m.kind === 'notice' ? undefined : (m.name ?? m.userId ?? '?'));
    if (body.items.length > 0) addMessage('system', '— earlier messages above —');
  } catch {
    /* history is a nicety */
  }
}

async function join(name: string, room: string): Promise<void> {
  showError(undefined);
  const problem = audioSupported();
  if (problem) throw new Error(`Voice is not available: ${problem}.`);
  $<HTMLButtonElement>('join').disabled = true;
  const engine = new AudioEngine(base);
  await engine.start(); // inside the click: browsers allow audio to start here
  audio = engine;
  const token = await fetchToken(name, room);
  const c = new VoiceRoomClient(gatewayUrls[0] as string, { reconnect: { urls: gatewayUrls, rejoin: () => fetchToken(name, room) } });
  client = c;
  c.on('state', (state, info) => setState(state, info));
  c.on('roster', renderRoster);
  c.on('member_joined', (m) => {
    addMessage('system', `${m.name ?? m.userId} joined`);
    renderRoster();
  });
  c.on('member_left', (m, reason) => {
    audio?.forget(m.sid);
    addMessage('system', `${('name' in m && m.name) || m.userId} left${reason === 'left' ? '' : ` (${reason})`}`);
    renderRoster();
  });
  c.on('members_updated', renderRoster);
  c.on('chat', (m) => addMessage('chat', m.text, m.name ?? m.userId));
  c.on('notice', (m) => addMessage('notice', m.text));
  c.on('error', (e) => showError(ERROR_WORDS[e.code] ?? e.message));
  c.on('speakers', (list) => {
    const until = Date.now() + 600;
    for (const s of list) speaking.set(s.sid, until);
    renderRoster();
  });
  c.on('voice', (frame) => {
    if (frame.level < SPEAKING_LEVEL) speaking.set(frame.speaker, Date.now() + 300);
    audio?.receive(frame.speaker, frame.sequence, frame.payload);
  });
  await c.connect(token);
  $('join-form').hidden = true;
  $('room-view').hidden = false;
  $('room-title').textContent = `Room ${room}`;
  $('messages').replaceChildren();
  await loadHistory(room);
  renderRoster();
  await engine.startMicrophone((payload, level, ts) => {
    if (!canSpeakNow()) return;
    client?.sendVoice(sequence++ & 0xffff, ts, level, payload);
    if (client?.self && level < SPEAKING_LEVEL) speaking.set(client.self.sid, Date.now() + 300);
  });
  engine.sending = canSpeakNow();
}

$('join-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const name = $<HTMLInputElement>('name').value.trim();
  const room = $<HTMLInputElement>('room').value.trim();
  join(name, room).catch((error: unknown) => {
    showError(error instanceof Error ? error.message : String(error));
    $<HTMLButtonElement>('join').disabled = false;
    if (client?.state !== 'live') void audio?.stop();
  });
});
$('mute').onclick = () => {
  micMuted = !micMuted;
  renderRoster();
};
$('hand').onclick = () => client?.raiseHand(!client.self?.handRaised);
$('leave').onclick = () => {
  client?.leave();
  client?.close();
};
$('chat-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const input = $<HTMLInputElement>('chat-text');
  const text = input.value.trim();
  if (text && client?.state === 'live') client.chat(text);
  input.value = '';
});
for (const key of ['name', 'room'] as const) {
  const value = params.get(key);
  if (value) $<HTMLInputElement>(key).value = value;
}
// Speaking indicators fade on their own (only the classes change: buttons stay put).
setInterval(() => {
  const now = Date.now();
  for (const li of $('roster').querySelectorAll<HTMLElement>('li')) li.classList.toggle('speaking', (speaking.get(Number(li.dataset.sid)) ?? 0) > now);
}, 150);

/** For tests and curious people: the live counters. */
(window as unknown as { voiceroom: unknown }).voiceroom = {
  get state() {
    return client?.state ?? 'idle';
  },
  get states() {
    return [...stateLog];
  },
  get gateway() {
    return client?.url;
  },
  get self() {
    return client?.self;
  },
  get members() {
    return [...(client?.members.values() ?? [])];
  },
  get audio() {
    return audio?.stats;
  },
};
