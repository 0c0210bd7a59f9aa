/**
 * The isolation watch's decision (isolation.ts), with a fake node and fake peers: a node that no
 * longer hears its own beats leaves only when another node says the log flows for it.
 */
import type { NodeId } from '@voiceroom/protocol';
import { IsolationWatch, type IsolationHost, type LogWitness } from '../src/isolation';

const TIMEOUT = 1000;

function setup(answers: Record<string, LogWitness | 'down'>) {
  let age: number | undefined = 0;
  const isolated: NodeId[][] = [];
  let rejoined = 0;
  const warnings: string[] = [];
  const host: IsolationHost = {
    nodeId: 'me' as NodeId,
    ownBeatAgeMs: () => age,
    peers: () => Object.keys(answers).map((id) => ({ id: id as NodeId, url: `http://${id}.test:8080` })),
    isolate: (witnesses) => isolated.push(witnesses),
    rejoin: () => rejoined++,
  };
  const fakeFetch = (async (input: URL | string) => {
    const url = new URL(String(input));
    const answer = answers[url.hostname.replace('.test', '')];
    if (url.pathname !== '/cluster/log' || url.searchParams.get('node') !== 'me' || answer === undefined || answer === 'down')
      throw new TypeError('fetch failed');
    return new Response(JSON.stringify(answer), { status: 200, headers: { 'content-type': 'application/json' } });
  }) as typeof fetch;
  const log = { debug: () => undefined, info: () => undefined, warn: (_: object, msg?: string) => void warnings.push(msg ?? ''), error: () => undefined };
  const watch = new IsolationWatch(host, { timeoutMs: TIMEOUT, checkEveryMs: 100, confirmMs: 200, probeTimeoutMs: 100, log }, fakeFetch);
  return {
    watch,
    isolated,
    warnings,
    rejoined: () => rejoined,
    setAge: (ms: number | undefined) => (age = ms),
  };
}

/** Has heard the log all along and has declared the asker lost: the asker is cut off alone. */
const hearing = (node: string): LogWitness => ({ node: node as NodeId, live: true, ownBeatAgeMs: 300, countsAsker: false, flowingForMs: 60_000 });
/** Hears the log but still counts the asker. */
const notYet = (node: string): LogWitness => ({ node: node as NodeId, live: true, ownBeatAgeMs: 300, countsAsker: true, flowingForMs: 60_000 });
/** Declared the asker lost, but hears the log again only since after the asker lost it: one outage for all, the asker is slower to come back. */
const backFirst = (node: string): LogWitness => ({ node: node as NodeId, live: true, ownBeatAgeMs: 300, countsAsker: false, flowingForMs: 1500 });
const deaf = (node: string): LogWitness => ({ node: node as NodeId, live: true, ownBeatAgeMs: 5000, countsAsker: true, flowingForMs: 0 });
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

it('leaves when its own beats stay missing past the timeout and another node still hears the log', async () => {
  const t = setup({ a: hearing('a'), b: deaf('b') });
  t.setAge(TIMEOUT + 1);
  await t.watch.check();
  expect(t.isolated).toEqual([]); // not on the first look: a frozen process wakes with old beats
  await wait(250);
  await t.watch.check();
  expect(t.isolated).toEqual([['a']]);
  expect(t.watch.isolated).toBe(true);
  await wait(250);
  await t.watch.check();
  expect(t.isolated).toHaveLength(1); // once

  t.setAge(100); // its beats come back
  await t.watch.check();
  expect(t.watch.isolated).toBe(false);
  expect(t.rejoined()).toBe(1);
});

it('stays in an outage: nobody hears the log, or nobody has declared it lost, or the others hear it only since after it lost it; or none answers', async () => {
  const outages: Record<string, LogWitness | 'down'>[] = [
    { a: deaf('a'), b: deaf('b') },
    { a: notYet('a') },
    { a: backFirst('a'), b: deaf('b') },
    { a: 'down' },
    {},
  ];
  for (const answers of outages) {
    const t = setup(answers);
    t.setAge(TIMEOUT * 3);
    await t.watch.check();
    await wait(250);
    await t.watch.check();
    await wait(250);
    await t.watch.check();
    expect(t.isolated).toEqual([]);
    expect(t.watch.isolated).toBe(false);
    expect(t.warnings).toHaveLength(1);
  }
});

it('does not leave when its beats come back within the confirmation window (a frozen node waking)', async () => {
  const t = setup({ a: hearing('a') });
  t.setAge(TIMEOUT * 5);
  await t.watch.check();
  t.setAge(50);
  await wait(250);
  await t.watch.check();
  t.setAge(TIMEOUT * 5); // stale again later: the window starts over
  await t.watch.check();
  expect(t.isolated).toEqual([]);
});

it('ignores witnesses that are not live or answer nonsense, and does nothing while not live itself', async () => {
  const t = setup({
    a: { node: 'a' as NodeId, live: false, ownBeatAgeMs: null, countsAsker: null, flowingForMs: null },
    b: { node: 'b' as NodeId, live: true, ownBeatAgeMs: null, countsAsker: false, flowingForMs: null },
  });
  t.setAge(TIMEOUT * 2);
  await t.watch.check();
  await wait(250);
  await t.watch.check();
  expect(t.isolated).toEqual([]);
  const idle = setup({ a: hearing('a') });
  idle.setAge(undefined);
  await idle.watch.check();
  await wait(250);
  await idle.watch.check();
  expect(idle.isolated).toEqual([]);
});
