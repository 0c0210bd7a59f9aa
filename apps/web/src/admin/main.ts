/**
 * The admin console (docs/admin-console.md), served by the admin API at /admin/. It signs in
 * with an API key (or the bootstrap key, or an admin JWT) kept in this tab's sessionStorage,
 * sent only in the Authorization header of its calls to the documented REST API (/v1), never
 * in a URL. Views: rooms (live member counts, state), one room (roster with kick, mute, role,
 * notices; chat history), bans, the audit log, the cluster. The live views refresh every 2 s.
 */
import { AdminApi, ApiFailure, inWords, type ClusterStats } from './api';
import { AuditView } from './audit-view';
import { BansView } from './bans-view';
import { ClusterView } from './cluster-view';
import type { ConsoleContext, View } from './context';
import { byId, replace } from './dom';
import { RoomView } from './room-view';
import { RoomsView } from './rooms-view';

const KEY_ITEM = 'voiceroom.admin.key';
const REFRESH_MS = 2000;

let api: AdminApi | undefined;
let view: View | undefined;
/** Views with a refresh in flight: the periodic one waits for it rather than piling up. */
const refreshing = new WeakSet<View>();
/** The error line shows a failed refresh (cleared by the next good one) or a failed action (kept until the next action). */
let errorFrom: 'refresh' | 'action' | undefined;

function showError(text: string | undefined, from: 'refresh' | 'action' = 'action'): void {
  const box = byId('error');
  box.textContent = text ?? '';
  box.hidden = !text;
  errorFrom = text ? from : undefined;
}

function showStatus(text: string | undefined): void {
  const box = byId('status');
  box.textContent = text ?? '';
  box.hidden = !text;
}

function handle(error: unknown, doing: string, from: 'refresh' | 'action'): void {
  if (error instanceof ApiFailure && error.signedOut) {
    signOut(inWords(error, doing));
    return;
  }
  showError(inWords(error, doing), from);
}

const ctx = (): ConsoleContext => ({
  api: api!,
  act: async (doing, action) => {
    showError(undefined);
    showStatus(undefined);
    try {
      showStatus(await action());
    } catch (error) {
      handle(error, doing, 'action');
    }
  },
  fail: (error, doing) => handle(error, doing, 'action'),
});

function route(): { name: string; build: () => View } {
  const hash = location.hash.replace(/^#/, '');
  if (hash.startsWith('room/')) {
    let id = hash.slice('room/'.length);
    try {
      id = decodeURIComponent(id);
    } catch {
      /* shown as typed */
    }
    return { name: 'rooms', build: () => new RoomView(ctx(), id) };
  }
  switch (hash) {
    case 'bans':
      return { name: 'bans', build: () => new BansView(ctx()) };
    case 'audit':
      return { name: 'audit', build: () => new AuditView(ctx()) };
    case 'cluster':
      return { name: 'cluster', build: () => new ClusterView(ctx()) };
    default:
      return { name: 'rooms', build: () => new RoomsView(ctx()) };
  }
}

async function refresh(current: View, doing: string): Promise<void> {
  if (refreshing.has(current)) return;
  refreshing.add(current);
  try {
    await current.refresh();
    if (errorFrom === 'refresh' && current === view) showError(undefined);
  } catch (error) {
    if (current === view) handle(error, doing, 'refresh');
  } finally {
    refreshing.delete(current);
  }
}

function show(): void {
  if (!api) return;
  const { name, build } = route();
  for (const link of document.querySelectorAll<HTMLAnchorElement>('nav a')) {
    if (link.dataset.view === name) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  showError(undefined);
  showStatus(undefined);
  view = build();
  replace(byId('view'), view.element);
  void refresh(view, 'Loading');
}

function signOut(why?: string): void {
  sessionStorage.removeItem(KEY_ITEM);
  api = undefined;
  view = undefined;
  replace(byId('view'));
  byId('console').hidden = true;
  byId('sign-out').hidden = true;
  byId('sign-in').hidden = false;
  showStatus(undefined);
  showError(why);
  byId<HTMLInputElement>('key').focus();
}

async function signIn(key: string): Promise<void> {
  const candidate = new AdminApi(key);
  try {
    // Any role may read the stats: this checks the key, and that this is an admin API.
    await candidate.get<ClusterStats>('/v1/stats');
  } catch (error) {
    signOut(inWords(error, 'Signing in'));
    return;
  }
  sessionStorage.setItem(KEY_ITEM, key);
  api = candidate;
  byId('sign-in').hidden = true;
  byId('console').hidden = false;
  byId('sign-out').hidden = false;
  showError(undefined);
  show();
}

byId('sign-in').addEventListener('submit', (event) => {
  event.preventDefault();
  const input = byId<HTMLInputElement>('key');
  const key = input.value.trim();
  input.value = '';
  if (key) void signIn(key);
});
byId('sign-out').addEventListener('click', () => signOut());
window.addEventListener('hashchange', show);
setInterval(() => {
  if (view?.live && document.visibilityState === 'visible') void refresh(view, 'Refreshing');
}, REFRESH_MS);

const saved = sessionStorage.getItem(KEY_ITEM);
if (saved) void signIn(saved);
else signOut();
