import { seg, type Room } from './api';
import { appliedLater, Latest, type ConsoleContext, type View } from './context';
import { h, replace, table, valueOf } from './dom';

const PAGE = 50;

/** Configured rooms with their live member counts and state; create, close and reopen. */
export class RoomsView implements View {
  readonly live = true;
  readonly element: HTMLElement;
  private readonly list = h('div', { id: 'rooms-list' });
  private readonly pager = h('div', { class: 'pager' });
  private offset = 0;
  private last = '';
  private readonly loads = new Latest();

  constructor(private readonly ctx: ConsoleContext) {
    const form = h(
      'form',
      { id: 'room-create', class: 'inline', method: 'post', on: { submit: (e) => (e.preventDefault(), void this.create()) } },
      h('label', {}, 'Id ', h('input', { id: 'room-create-id', maxlength: 64, pattern: '[A-Za-z0-9_.:\\-]{1,64}', placeholder: 'optional' })),
      h('label', {}, 'Name ', h('input', { id: 'room-create-name', required: true, maxlength: 128 })),
      h('label', {}, 'Capacity ', h('input', { id: 'room-create-capacity', type: 'number', min: 1, max: 10000, placeholder: 'default' })),
      h('label', {}, 'Seats ', h('input', { id: 'room-create-seats', type: 'number', min: 0, max: 10000, placeholder: 'default' })),
      h('button', { type: 'submit' }, 'Create room'),
    );
    this.element = h('section', { class: 'card wide' }, h('h2', {}, 'Rooms'), this.list, this.pager, h('h3', {}, 'New room'), form);
  }

  async refresh(): Promise<void> {
    const latest = this.loads.begin();
    const page = await this.ctx.api.get<{ items: Room[]; total: number }>('/v1/rooms', { limit: PAGE, offset: this.offset });
    const key = JSON.stringify(page);
    if (!latest() || key === this.last) return;
    this.last = key;
    const rows = page.items.map((room) =>
      h(
        'tr',
        { 'data-room': room.id },
        h('td', {}, h('a', { href: `#room/${seg(room.id)}` }, room.name)),
        h('td', { class: 'mono' }, room.id),
        h('td', {}, h('span', { class: `badge ${room.status}` }, room.status)),
        h('td', { class: 'num online' }, `${room.online} / ${room.capacity}`),
        h('td', { class: 'num' }, room.seats),
        h(
          'td',
          {},
          room.status === 'open'
            ? h('button', { type: 'button', class: 'small danger', on: { click: () => void this.setStatus(room, 'close') } }, 'Close')
            : h('button', { type: 'button', class: 'small', on: { click: () => void this.setStatus(room, 'open') } }, 'Reopen'),
        ),
      ),
    );
    replace(this.list, table(['Name', 'Id', 'State', 'Online / capacity', 'Seats', ''], rows, 'No rooms are configured yet.', 'rooms'));
    const pages = page.total > PAGE;
    replace(
      this.pager,
      pages && h('button', { type: 'button', class: 'small', disabled: this.offset === 0, on: { click: () => void this.move(-PAGE) } }, 'Previous'),
      pages && ` ${this.offset + 1}–${Math.min(this.offset + PAGE, page.total)} of ${page.total} `,
      pages && h('button', { type: 'button', class: 'small', disabled: this.offset + PAGE >= page.total, on: { click: () => void this.move(PAGE) } }, 'Next'),
    );
  }

  private async move(by: number): Promise<void> {
    this.offset = Math.max(0, this.offset + by);
    await this.refresh().catch((error: unknown) => this.ctx.fail(error, 'Loading the rooms'));
  }

  private async setStatus(room: Room, action: 'close' | 'open'): Promise<void> {
    await this.ctx.act(`${action === 'close' ? 'Closing' : 'Reopening'} ${room.name}`, async () => {
      const answer = await this.ctx.api.request<Room>('POST', `/v1/rooms/${seg(room.id)}/${action}`);
      await this.refresh();
      return `${room.name} is ${action === 'close' ? 'closed: its members were disconnected' : 'open again'}.${answer.accepted ? appliedLater : ''}`;
    });
  }

  private async create(): Promise<void> {
    const body: Record<string, unknown> = { name: valueOf('room-create-name') };
    const id = valueOf('room-create-id');
    if (id) body.id = id;
    for (const field of ['capacity', 'seats'] as const) {
      const text = valueOf(`room-create-${field}`);
      if (text) body[field] = Number(text);
    }
    await this.ctx.act('Creating the room', async () => {
      const answer = await this.ctx.api.request<Room>('POST', '/v1/rooms', body);
      (this.element.querySelector('#room-create') as HTMLFormElement).reset();
      await this.refresh();
      return `Room ${answer.body.name} (${answer.body.id}) created.${answer.accepted ? appliedLater : ''}`;
    });
  }
}
