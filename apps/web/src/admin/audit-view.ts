import type { AuditEntry } from './api';
import { Latest, type ConsoleContext, type View } from './context';
import { h, replace, table, valueOf, when } from './dom';

const PAGE = 50;

/** The audit log, newest first, filtered by target, page by page (admin role). */
export class AuditView implements View {
  readonly live = false;
  readonly element: HTMLElement;
  private readonly list = h('div', { id: 'audit-list' });
  private readonly pager = h('div', { class: 'pager' });
  private readonly loads = new Latest();
  /** `before` of each page shown so far: [undefined] is the newest page. */
  private pages: (number | undefined)[] = [undefined];

  constructor(private readonly ctx: ConsoleContext) {
    const filter = h(
      'form',
      { id: 'audit-filter', class: 'inline', method: 'post', on: { submit: (e) => (e.preventDefault(), void this.filter()) } },
      h(
        'label',
        {},
        'Target ',
        h(
          'select',
          { id: 'audit-type' },
          h('option', { value: '' }, 'anything'),
          h('option', { value: 'room' }, 'room'),
          h('option', { value: 'user' }, 'user'),
          h('option', { value: 'apikey' }, 'API key'),
        ),
      ),
      h('label', {}, 'Id ', h('input', { id: 'audit-id', maxlength: 128, placeholder: 'any' })),
      h('button', { type: 'submit' }, 'Show'),
    );
    this.element = h('section', { class: 'card wide' }, h('h2', {}, 'Audit log'), filter, this.list, this.pager);
  }

  async refresh(): Promise<void> {
    const latest = this.loads.begin();
    const before = this.pages[this.pages.length - 1];
    const { items } = await this.ctx.api.get<{ items: AuditEntry[] }>('/v1/audit', {
      targetType: valueOf('audit-type'),
      targetId: valueOf('audit-id'),
      before,
      limit: PAGE,
    });
    if (!latest()) return;
    const rows = items.map((entry) =>
      h(
        'tr',
        { 'data-audit': entry.id },
        h('td', {}, when(entry.at)),
        h('td', { class: 'mono' }, entry.actor),
        h('td', { class: 'mono action' }, entry.action),
        h('td', { class: 'mono' }, `${entry.targetType} ${entry.targetId}`),
        h('td', { class: 'details' }, entry.details === null ? '' : JSON.stringify(entry.details)),
      ),
    );
    replace(this.list, table(['When', 'Who', 'Action', 'Target', 'Details'], rows, this.pages.length > 1 ? 'No older entries.' : 'No entries.', 'audit'));
    const oldest = items[items.length - 1]?.id;
    replace(
      this.pager,
      h('button', { type: 'button', class: 'small', disabled: this.pages.length === 1, on: { click: () => void this.page(-1) } }, 'Newer'),
      ` page ${this.pages.length} `,
      h('button', { type: 'button', class: 'small', disabled: items.length < PAGE, on: { click: () => void this.page(1, oldest) } }, 'Older'),
    );
  }

  private async filter(): Promise<void> {
    this.pages = [undefined];
    await this.refresh().catch((error: unknown) => this.ctx.fail(error, 'Loading the audit log'));
  }

  private async page(direction: 1 | -1, oldest?: number): Promise<void> {
    if (direction === 1 && oldest !== undefined) this.pages.push(oldest);
    if (direction === -1 && this.pages.length > 1) this.pages.pop();
    await this.refresh().catch((error: unknown) => this.ctx.fail(error, 'Loading the audit log'));
  }
}
