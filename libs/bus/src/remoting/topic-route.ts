import { parseLenientJson, RequestCode, ResponseCode } from './remoting-codec';
import { RemotingConnection, RemotingError } from './remoting-connection';

/** One queue of a topic on one master broker: where a voice message goes and where it is pulled. */
export interface QueueTarget {
  brokerName: string;
  /** The master broker's remoting address (host:port). */
  address: string;
  queueId: number;
  readable: boolean;
  writable: boolean;
}

interface TopicRouteData {
  queueDatas?: { brokerName: string; readQueueNums: number; writeQueueNums: number; perm: number }[];
  brokerDatas?: { brokerName: string; brokerAddrs?: Record<string, string> }[];
}

const PERM_READ = 0x1 << 2;
const PERM_WRITE = 0x1 << 1;
const MASTER_ID = '0';

/**
 * Asks the NameServers (tried in turn) where a topic's queues live, the way every RocketMQ
 * remoting client does. Returns the queues of master brokers, sorted by broker name and queue id
 * so that every node computes the same room → queue mapping from the same route.
 */
export async function fetchTopicRoute(nameServers: string[], topic: string, timeoutMs: number): Promise<QueueTarget[]> {
  let lastError: unknown;
  for (const address of nameServers) {
    let connection: RemotingConnection | undefined;
    try {
      connection = await RemotingConnection.open(address, timeoutMs, () => {});
      const response = await connection.request(RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic }, undefined, timeoutMs);
      if (response.code === ResponseCode.TOPIC_NOT_EXIST) {
        throw new RemotingError(`topic ${topic} does not exist (create it: docs/rocketmq.md)`);
      }
      if (response.code !== ResponseCode.SUCCESS || !response.body) {
        throw new RemotingError(`route of ${topic} refused by ${address}: ${response.code} ${response.remark ?? ''}`);
      }
      return routeTargets(parseLenientJson<TopicRouteData>(response.body.toString('utf8')));
    } catch (error) {
      lastError = error;
    } finally {
      connection?.close();
    }
  }
  throw lastError instanceof Error ? lastError : new RemotingError(`no NameServer answered for ${topic}`);
}

export function routeTargets(route: TopicRouteData): QueueTarget[] {
  const masters = new Map<string, string>();
  for (const broker of route.brokerDatas ?? []) {
    const address = broker.brokerAddrs?.[MASTER_ID];
    if (address) masters.set(broker.brokerName, address);
  }
  const targets: QueueTarget[] = [];
  for (const queues of route.queueDatas ?? []) {
    const address = masters.get(queues.brokerName);
    if (!address) continue;
    const count = Math.max(queues.readQueueNums, queues.writeQueueNums);
    for (let queueId = 0; queueId < count; queueId++) {
      targets.push({
        brokerName: queues.brokerName,
        address,
        queueId,
        readable: (queues.perm & PERM_READ) !== 0 && queueId < queues.readQueueNums,
        writable: (queues.perm & PERM_WRITE) !== 0 && queueId < queues.writeQueueNums,
      });
    }
  }
  targets.sort((a, b) => (a.brokerName < b.brokerName ? -1 : a.brokerName > b.brokerName ? 1 : a.queueId - b.queueId));
  return targets;
}
