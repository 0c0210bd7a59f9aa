import type { ClusterStats } from './api';
import { Latest, type ConsoleContext, type View } from './context';
import { h, replace, table } from './dom';

/** The cluster as the admin API's copy of the room state sees it: every node, its sessions, whether it is in sync. */
export class ClusterView implements View {
  readonly live = true;
  readonly element: HTMLElement;
  private readonly figures = h('div', { id: 'cluster-figures', class: 'figures' });
  private readonly nodes = h('div', { id: 'nodes' });
  private last = '';
  private readonly loads = new Latest();

  constructor(private readonly ctx: ConsoleContext) {
    this.element = h(
      'section',
      { class: 'card wide' },
      h('h2', {}, 'Cluster'),
      this.figures,
      h('h3', {}, 'Nodes'),
      this.nodes,
      h(
        'p',
        { class: 'hint' },
        'Gateways and admin API processes on the event log. Ready: the node holds the cluster’s room state. Sessions: members connected to it.',
      ),
    );
  }

  async refresh(): Promise<void> {
    const latest = this.loads.begin();
    const stats = await this.ctx.api.get<ClusterStats>('/v1/stats');
    const key = JSON.stringify(stats);
    if (!latest() || key === this.last) return;
    this.last = key;
    const figure = (label: string, value: number, id: string) => h('div', { class: 'figure' }, h('strong', { id }, value), h('span', {}, label));
    replace(
      this.figures,
      figure('Members online', stats.membersOnline, 'members-online'),
      figure('Live rooms', stats.rooms.live, 'rooms-live'),
      figure('Configured rooms', stats.rooms.configured, 'rooms-configured'),
      figure('Open rooms', stats.rooms.open, 'rooms-open'),
    );
    const rows = [...stats.nodes]
      .sort((a, b) => a.id.localeCompare(b.id))
      .map((node) =>
        h(
          'tr',
          { 'data-node': node.id },
          h('td', { class: 'mono' }, node.id),
          h('td', { class: 'num sessions' }, node.members),
          h('td', { class: 'ready' }, node.live ? h('span', { class: 'badge open' }, 'ready') : h('span', { class: 'badge closed' }, 'not in sync')),
        ),
      );
    replace(this.nodes, table(['Node', 'Sessions', 'Ready'], rows, 'No node is known yet (this process is not in sync).', 'nodes'));
  }
}
