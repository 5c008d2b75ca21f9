export { HTTP_REQUEST_TIMEOUT_MS, httpTimeLimits } from './time-limits.ts';
export { frameworkErrorRefusal, httpRefusal, notFoundRefusal } from './refusals.ts';
export { guardLoopbackHost, isLoopbackHost } from './host-guard.ts';
