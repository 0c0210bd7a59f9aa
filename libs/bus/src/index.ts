export * from './bus';
export * from './memory-bus';
export * from './rocketmq-bus';
export * from './create-bus';
export * from './batch-codec';
export { fetchTopicRoute, type QueueTarget } from './remoting/topic-route';
