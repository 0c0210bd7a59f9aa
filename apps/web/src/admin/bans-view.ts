import { seg, type Ban } from './api';
import { appliedLater, Latest, type ConsoleContext, type View } from './context';
import { h, replace, table, valueOf, when } from './dom';

/** Bans with their expiry: create (for a room or every room, for a while or for good) and lift. */
export class BansView implements View {
  readonly live = false;
  readonly element: HTMLElement;
  private readonly list = h('div', { id: 'bans-list' });
  private readonly loads = new Latest();

  constructor(private readonly ctx: ConsoleContext) {
    const create = h(
      'form',
      { id: 'ban-create', class: 'inline', method: 'post', on: { submit: (e) => (e.preventDefault(), void this.create()) } },
      h('label', {}, 'User id ', h('input', { id: 'ban-user', required: true, maxlength: 64, pattern: '[A-Za-z0-9_.:\\-]{1,64}' })),
      h('label', {}, 'Room id ', h('input', { id: 'ban-room', maxlength: 64, placeholder: 'empty: every room' })),
      h(
        'label',
        {},
        'For ',
        h(
          'select',
          { id: 'ban-duration' },
          h('option', { value: '600' }, '10 minutes'),
          h('option', { value: '3600', selected: true }, '1 hour'),
          h('option', { value: '86400' }, '1 day'),
          h('option', { value: '604800' }, '7 days'),
          h('option', { value: '2592000' }, '30 days'),
          h('option', { value: '' }, 'no end'),
        ),
      ),
      h('label', {}, 'Reason ', h('input', { id: 'ban-reason', maxlength: 500 })),
      h('button', { type: 'submit', class: 'danger' }, 'Ban'),
    );
    const filter = h(
      'label',
      { class: 'filter' },
      'Show ',
      h(
        'select',
        { id: 'ban-filter', on: { change: () => void this.reload() } },
        h('option', { value: 'true' }, 'bans in force'),
        h('option', { value: 'false' }, 'lifted or expired bans'),
        h('option', { value: '' }, 'all bans'),
      ),
    );
    this.element = h('section', { class: 'card wide' }, h('h2', {}, 'Bans'), h('h3', {}, 'New ban'), create, filter, this.list);
  }

  async refresh(): Promise<void> {
    const active = (this.element.querySelector('#ban-filter') as HTMLSelectElement).value;
    const latest = this.loads.begin();
    const { items } = await this.ctx.api.get<{ items: Ban[] }>('/v1/bans', { active, limit: 200 });
    if (!latest()) return;
    const rows = items.map((ban) =>
      h(
        'tr',
        { 'data-ban': ban.id },
        h('td', { class: 'num' }, ban.id),
        h('td', { class: 'mono' }, ban.userId),
        h('td', { class: 'mono' }, ban.roomId ?? 'every room'),
        h('td', {}, ban.reason),
        h('td', {}, ban.expiresAt ? when(ban.expiresAt) : 'no end'),
        h('td', {}, when(ban.createdAt), h('br'), h('span', { class: 'hint' }, ban.createdBy)),
        h(
          'td',
          { class: 'state' },
          ban.active
            ? h('span', { class: 'badge closed' }, 'in force')
            : h('span', { class: 'badge' }, ban.revokedAt ? `lifted ${when(ban.revokedAt)}` : 'expired'),
        ),
        h('td', {}, ban.active && h('button', { type: 'button', class: 'small', on: { click: () => void this.lift(ban) } }, 'Lift')),
      ),
    );
    replace(this.list, table(['#', 'User', 'Room', 'Reason', 'Ends', 'Created', 'State', ''], rows, 'No bans to show.', 'bans'));
  }

  private async reload(): Promise<void> {
    await this.refresh().catch((error: unknown) => this.ctx.fail(error, 'Loading the bans'));
  }

  private async create(): Promise<void> {
    const userId = valueOf('ban-user');
    const roomId = valueOf('ban-room');
    const duration = valueOf('ban-duration');
    const reason = valueOf('ban-reason');
    const body: Record<string, unknown> = { userId, roomId: roomId || null };
    if (duration) body.durationSeconds = Number(duration);
    if (reason) body.reason = reason;
    await this.ctx.act(`Banning ${userId}`, async () => {
      const answer = await this.ctx.api.request<Ban>('POST', '/v1/bans', body);
      (this.element.querySelector('#ban-create') as HTMLFormElement).reset();
      await this.refresh();
      const until = answer.body.expiresAt ? `until ${when(answer.body.expiresAt)}` : 'with no end';
      return `${userId} is banned from ${roomId || 'every room'} ${until}.${answer.accepted ? appliedLater : ''}`;
    });
  }

  private async lift(ban: Ban): Promise<void> {
    await this.ctx.act(`Lifting ban #${ban.id}`, async () => {
      const answer = await this.ctx.api.request<Ban>('DELETE', `/v1/bans/${seg(String(ban.id))}`);
      await this.refresh();
      return `Ban #${ban.id} of ${ban.userId} is lifted.${answer.accepted ? appliedLater : ''}`;
    });
  }
}
