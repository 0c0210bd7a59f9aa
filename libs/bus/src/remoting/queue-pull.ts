import type { BrokerLink } from './broker-link';
import { RequestCode, ResponseCode } from './remoting-codec';
import { fetchTopicRoute, type QueueTarget } from './topic-route';

/**
 * What the voice lane and the event log reader share about reading a queue by offset with
 * remoting PULL_MESSAGE: the long-poll settings, the request's fields, the tail offset and the
 * route with the address map applied.
 */

/** Messages per pull answer at most. */
export const PULL_BATCH = 32;
/** How long the broker holds a pull with nothing to answer. */
export const PULL_SUSPEND_MS = 10_000;
/** The broker answers a held pull up to 5 s after its suspend time (its hold service checks every 5 s). */
const PULL_HOLD_SLACK_MS = 5_000;
/** FLAG_SUSPEND (long polling) | FLAG_SUBSCRIPTION (the request carries its subscription). */
const PULL_SYS_FLAG = 0x2 | 0x4;
/** How often a lane asks the NameServer again where its topic lives. */
export const ROUTE_REFRESH_MS = 30_000;

/** The request timeout of a held pull: the broker may answer up to suspend + slack after it. */
export function pullTimeoutMs(requestTimeoutMs: number): number {
  return PULL_SUSPEND_MS + PULL_HOLD_SLACK_MS + requestTimeoutMs;
}

/** The PULL_MESSAGE header fields that do not change between the pulls of one queue (offsets are never committed). */
export function pullFields(consumerGroup: string, topic: string, queueId: number): Record<string, string | number> {
  return {
    consumerGroup,
    topic,
    queueId,
    maxMsgNums: PULL_BATCH,
    sysFlag: PULL_SYS_FLAG,
    commitOffset: 0,
    suspendTimeoutMillis: PULL_SUSPEND_MS,
    subVersion: 0,
  };
}

/** The offset after the last message of a queue (GET_MAX_OFFSET): where a reader starting now begins. */
export async function queueTailOffset(link: BrokerLink, topic: string, queueId: number, timeoutMs: number): Promise<number> {
  const response = await link.request(RequestCode.GET_MAX_OFFSET, { topic, queueId }, undefined, timeoutMs);
  const offset = Number(response.extFields.offset);
  if (response.code !== ResponseCode.SUCCESS || !Number.isFinite(offset)) {
    throw new Error(`GET_MAX_OFFSET of ${topic} answered ${response.code} ${response.remark ?? ''}`);
  }
  return offset;
}

/** The topic's queues from the NameServers, with advertised broker addresses mapped to reachable ones. */
export async function fetchMappedRoute(
  nameServers: string[],
  topic: string,
  timeoutMs: number,
  addressMap: Readonly<Record<string, string>>,
): Promise<QueueTarget[]> {
  const targets = await fetchTopicRoute(nameServers, topic, timeoutMs);
  return targets.map((t) => (addressMap[t.address] ? { ...t, address: addressMap[t.address] as string } : t));
}
