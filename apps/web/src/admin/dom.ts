/**
 * Building the console's DOM: every piece of data becomes a text node (never markup), so nothing
 * the API returns (room names, chat text, reasons, audit details) can inject HTML or script.
 */
type Child = Node | string | number | null | undefined | false;
type Listeners = Record<string, (event: Event) => void>;
/** Attributes (`true`: present, `false` or undefined: absent), and `on`: event listeners. */
interface Attrs {
  on?: Listeners;
  [name: string]: string | number | boolean | undefined | Listeners;
}

/** `h('td', {class: 'num'}, 'text', otherNode)`: attributes are set as attributes, children appended as text or nodes. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (name === 'on' || value === undefined || value === false || typeof value === 'object') continue;
    element.setAttribute(name, value === true ? '' : String(value));
  }
  for (const [type, listener] of Object.entries(attrs.on ?? {})) element.addEventListener(type, listener);
  append(element, ...children);
  return element;
}

export function append(parent: Node, ...children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(typeof child === 'object' ? child : document.createTextNode(String(child)));
  }
}

/** Replaces every child of `parent`. */
export function replace(parent: Node, ...children: Child[]): void {
  while (parent.firstChild) parent.removeChild(parent.firstChild);
  append(parent, ...children);
}

export function byId<T extends HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (!element) throw new Error(`#${id} is missing from the page`);
  return element as T;
}

/** A local date and time, to the second: `2026-12-04 22:15:03`. */
export function when(iso: string | null): string {
  if (iso === null) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** A table with a header row; `rows` empty: one row saying `empty`. */
export function table(headers: string[], rows: HTMLTableRowElement[], empty: string, className = ''): HTMLTableElement {
  return h(
    'table',
    { class: `grid ${className}`.trim() },
    h('thead', {}, h('tr', {}, ...headers.map((text) => h('th', { scope: 'col' }, text)))),
    h('tbody', {}, ...(rows.length > 0 ? rows : [h('tr', { class: 'empty' }, h('td', { colspan: headers.length }, empty))])),
  );
}

/** Reads a form's named control (by id) as trimmed text. */
export function valueOf(id: string): string {
  return byId<HTMLInputElement | HTMLSelectElement>(id).value.trim();
}
