export { HTTP_REQUEST_TIMEOUT_MS, httpTimeLimits } from './time-limits.ts';
export { frameworkErrorRefusal, httpRefusal, jobIdParamRefusal, notFoundRefusal } from './refusals.ts';
export { ALLOWED_HOSTS_ENV, allowedHostsFromEnv, guardLoopbackHost, isLoopbackHost } from './host-guard.ts';
export { readBoundedResponseText } from './bounded-response.ts';
export { CONNECTIONS_ENV, ConnectionGate, DEFAULT_CONNECTION_LIMITS, connectionLimitsFromEnv, fastifyServerFactory, type ConnectionLimits, type ConnectionRefusals } from './connection-limits.ts';
export { httpServerOptions } from './server-options.ts';
