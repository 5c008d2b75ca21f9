/** Local servers for tests, benchmarks and caco agent check: a nats-server, a 3-node cluster, Docker detection. */
export * from './nats-server.ts';
export * from './nats-cluster.ts';
export * from './docker.ts';
export { NatsServerProcess, freePort, natsServerBinary } from './nats-server.ts';
export { dockerAvailable } from './docker.ts';
export { NatsCluster } from './nats-cluster.ts';
