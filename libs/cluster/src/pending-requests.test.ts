import type { NodeId } from '@voiceroom/protocol';
import { PendingRequests } from './pending-requests';

const ME = 'me' as NodeId;
const OTHER = 'other' as NodeId;

describe('PendingRequests', () => {
  let timedOut: string[];
  let table: PendingRequests<string>;

  beforeEach(() => {
    jest.useFakeTimers();
    timedOut = [];
    table = new PendingRequests<string>(ME, 'inc.', 1000, (value, req) => void timedOut.push(`${value}@${req}`));
  });

  afterEach(() => {
    jest.useRealTimers();
  });

  it('hands out ids with its prefix and matches an outcome of its own node once', () => {
    expect([table.open('a'), table.open('b')]).toEqual(['inc.1', 'inc.2']);
    expect(table.take(OTHER, 'inc.1')).toBeUndefined(); // same id, another node's request
    expect(table.take(ME, 'inc.1')).toBe('a');
    expect(table.take(ME, 'inc.1')).toBeUndefined();
    expect(table.size).toBe(1);
    jest.advanceTimersByTime(1000);
    expect(timedOut).toEqual(['b@inc.2']); // a, taken, never times out
    expect(table.take(ME, 'inc.2')).toBeUndefined(); // an outcome after the timeout finds nothing
  });

  it('gives up on a request at once (a failed publish), once', () => {
    const req = table.open('a');
    table.expire(req);
    table.expire(req);
    jest.advanceTimersByTime(1000);
    expect(timedOut).toEqual(['a@inc.1']);
  });

  it('gives up on the matching requests, oldest first, and takes all without a timeout', () => {
    table.open('join');
    table.open('command');
    table.open('resume');
    table.expireWhere((v) => v !== 'command');
    expect(timedOut).toEqual(['join@inc.1', 'resume@inc.3']);
    expect(table.takeAll()).toEqual(['command']);
    jest.advanceTimersByTime(1000);
    expect(timedOut).toHaveLength(2);
    expect(table.size).toBe(0);
  });
});
