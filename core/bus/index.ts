export type { Bus, BusMessage, Headers, MessageHandler, PublishOptions, RequestOptions, SubscribeOptions, Subscription } from './bus.ts';
export { subjectMatches, isValidSubject, isReplySubject, assertPattern, assertPublishSubject } from './subject.ts';
export { MemoryBus } from './memory-bus.ts';
export { NatsBus, NatsUnavailableError, connectNats, defaultNatsServers, type NatsBusOptions, type NatsConnectOptions } from './nats-bus.ts';
export { receivedHeaders, wireHeaders } from './wire-headers.ts';
