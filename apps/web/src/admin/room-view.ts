import { ApiFailure, seg, type ChatItem, type Member, type MemberRole, type Room } from './api';
import { Latest, type ConsoleContext, type View } from './context';
import { h, replace, table, when } from './dom';

const ROLES: MemberRole[] = ['host', 'speaker', 'listener'];
const HISTORY_PAGE = 20;

/** One room: its live roster (kick, mute, role), notices, and its chat history page by page. */
export class RoomView implements View {
  readonly live = true;
  readonly element: HTMLElement;
  private readonly heading = h('h2', {});
  private readonly summary = h('p', { class: 'hint', id: 'room-summary' });
  private readonly roster = h('div', { id: 'roster' });
  private readonly history = h('ol', { id: 'history', class: 'messages' });
  private readonly historyPager = h('div', { class: 'pager' });
  private lastRoster = '';
  private readonly loads = new Latest();
  private readonly historyLoads = new Latest();
  /** `before` of each page shown so far: [undefined] is the newest page. */
  private pages: (number | undefined)[] = [undefined];

  constructor(
    private readonly ctx: ConsoleContext,
    private readonly roomId: string,
  ) {
    replace(this.heading, roomId);
    const notice = h(
      'form',
      { id: 'notice-form', class: 'inline', method: 'post', on: { submit: (e) => (e.preventDefault(), void this.sendNotice()) } },
      h('input', { id: 'notice-text', required: true, maxlength: 1000, placeholder: 'A notice to everyone in the room', 'aria-label': 'Notice' }),
      h('button', { type: 'submit' }, 'Send notice'),
    );
    this.element = h(
      'div',
      { class: 'columns' },
      h('section', { class: 'card wide' }, h('p', {}, h('a', { href: '#rooms' }, '← Rooms')), this.heading, this.summary, this.roster, notice),
      h('section', { class: 'card chat' }, h('h2', {}, 'Chat history'), this.history, this.historyPager),
    );
  }

  async refresh(): Promise<void> {
    const latest = this.loads.begin();
    const [room, members] = await Promise.all([
      // A live room that is not configured has members but no Room (404): show the roster anyway.
      this.ctx.api.get<Room>(`/v1/rooms/${seg(this.roomId)}`).catch((error: unknown) => {
        if (error instanceof ApiFailure && error.code === 'ROOM_NOT_FOUND') return undefined;
        throw error;
      }),
      this.ctx.api.get<{ items: Member[] }>(`/v1/rooms/${seg(this.roomId)}/members`),
    ]);
    if (!latest()) return;
    const key = JSON.stringify([room, members]);
    if (key !== this.lastRoster) {
      this.lastRoster = key;
      this.showRoster(room, members.items);
    }
    // The newest history page follows the room; older pages stay as they are until asked.
    if (this.pages.length === 1) await this.loadHistory();
  }

  private showRoster(room: Room | undefined, members: Member[]): void {
    replace(this.heading, room ? room.name : this.roomId);
    replace(
      this.summary,
      room
        ? `${room.id} · ${room.status} · ${members.length} of ${room.capacity} members · ${members.filter((m) => m.role === 'speaker').length} of ${room.seats} seats taken`
        : `${this.roomId} · not configured (the gateways' defaults apply) · ${members.length} members`,
    );
    const rows = members.map((m) => {
      const role = h(
        'select',
        {
          'aria-label': `Role of ${m.userId}`,
          class: 'role',
          on: { change: (e) => void this.setRole(m, (e.target as HTMLSelectElement).value as MemberRole) },
        },
        ...ROLES.map((r) => h('option', { value: r, selected: r === m.role }, r)),
      );
      return h(
        'tr',
        { 'data-user': m.userId },
        h('td', {}, h('span', { class: 'who' }, m.name ?? m.userId), m.handRaised && h('span', { class: 'badge hand' }, 'hand raised')),
        h('td', { class: 'mono' }, m.userId),
        h('td', {}, role),
        h('td', {}, m.muted ? h('span', { class: 'badge muted' }, 'muted') : h('span', { class: 'badge' }, 'unmuted')),
        h('td', { class: 'mono node' }, m.node ?? 'detached'),
        h(
          'td',
          { class: 'actions' },
          h('button', { type: 'button', class: 'small', on: { click: () => void this.setMuted(m, !m.muted) } }, m.muted ? 'Unmute' : 'Mute'),
          h('button', { type: 'button', class: 'small danger', on: { click: () => void this.kick(m) } }, 'Kick'),
        ),
      );
    });
    replace(this.roster, table(['Member', 'User id', 'Role', 'Voice', 'Gateway', ''], rows, 'Nobody is in the room.', 'roster'));
  }

  private label(m: Member): string {
    return m.name ? `${m.name} (${m.userId})` : m.userId;
  }

  private member(m: Member): string {
    return `/v1/rooms/${seg(this.roomId)}/members/${seg(m.userId)}`;
  }

  private async kick(m: Member): Promise<void> {
    await this.ctx.act(`Kicking ${this.label(m)}`, async () => {
      await this.ctx.api.request('POST', `${this.member(m)}/kick`);
      await this.refresh();
      return `${this.label(m)} was kicked: their connection was closed.`;
    });
  }

  private async setMuted(m: Member, muted: boolean): Promise<void> {
    await this.ctx.act(`${muted ? 'Muting' : 'Unmuting'} ${this.label(m)}`, async () => {
      await this.ctx.api.request('POST', `${this.member(m)}/mute`, { muted });
      await this.refresh();
      return `${this.label(m)} is ${muted ? 'muted' : 'unmuted'}.`;
    });
  }

  private async setRole(m: Member, role: MemberRole): Promise<void> {
    await this.ctx.act(`Making ${this.label(m)} a ${role}`, async () => {
      try {
        await this.ctx.api.request('PUT', `${this.member(m)}/role`, { role });
      } finally {
        // Show the role the member really has, whether it changed or not.
        this.lastRoster = '';
        await this.refresh();
      }
      return `${this.label(m)} is now a ${role}.`;
    });
  }

  private async sendNotice(): Promise<void> {
    const input = this.element.querySelector<HTMLInputElement>('#notice-text')!;
    const text = input.value;
    await this.ctx.act('Sending the notice', async () => {
      await this.ctx.api.request('POST', `/v1/rooms/${seg(this.roomId)}/notices`, { text });
      input.value = '';
      await this.refresh();
      return 'Notice sent to everyone in the room.';
    });
  }

  private async loadHistory(): Promise<void> {
    const latest = this.historyLoads.begin();
    const before = this.pages[this.pages.length - 1];
    let page: { items: ChatItem[]; nextBefore: number | null };
    try {
      page = await this.ctx.api.get<{ items: ChatItem[]; nextBefore: number | null }>(`/v1/rooms/${seg(this.roomId)}/messages`, {
        limit: HISTORY_PAGE,
        before,
      });
    } catch (error) {
      // A live room that is not configured and has no stored messages has no history yet.
      if (error instanceof ApiFailure && error.code === 'ROOM_NOT_FOUND') page = { items: [], nextBefore: null };
      else throw error;
    }
    if (!latest()) return;
    replace(
      this.history,
      ...page.items.map((item) =>
        h(
          'li',
          { class: item.kind },
          h('time', { datetime: item.sentAt }, when(item.sentAt)),
          ' ',
          item.kind === 'notice' ? h('span', { class: 'from' }, 'Notice:') : h('span', { class: 'from' }, item.name ?? item.userId ?? '?'),
          ' ',
          item.text,
        ),
      ),
    );
    if (page.items.length === 0) replace(this.history, h('li', { class: 'empty' }, this.pages.length > 1 ? 'No older messages.' : 'No messages yet.'));
    replace(
      this.historyPager,
      h('button', { type: 'button', class: 'small', disabled: this.pages.length === 1, on: { click: () => void this.pageHistory(-1) } }, 'Newer'),
      ` page ${this.pages.length} `,
      h(
        'button',
        { type: 'button', class: 'small', disabled: page.nextBefore === null, on: { click: () => void this.pageHistory(1, page.nextBefore) } },
        'Older',
      ),
    );
  }

  private async pageHistory(direction: 1 | -1, nextBefore?: number | null): Promise<void> {
    if (direction === 1 && typeof nextBefore === 'number') this.pages.push(nextBefore);
    if (direction === -1 && this.pages.length > 1) this.pages.pop();
    await this.loadHistory().catch((error: unknown) => this.ctx.fail(error, 'Loading the chat history'));
  }
}
