export { metricsHooks, quarantined, setMetricsSink, currentMetricsSink, type MetricsSink } from './hooks.ts';
export { CacoMetrics, FORECAST_TYPE, type CacoMetricsOptions, type HealthSource } from './metrics.ts';
export { judgeHealth, type RuntimeHealth, type SubscriptionHealth, type SubscriptionProbe } from './health.ts';
export { registerObservabilityRoutes, startObservabilityHttp, type ObservabilityRoutes } from './http.ts';
export { tracedBus } from './traced-bus.ts';
export {
  ATTR,
  TRACING_ENV,
  attachContext,
  contextFromHeaders,
  contextOf,
  enableTracing,
  enableTracingFromEnv,
  endSpan,
  envelopeAttributes,
  eventContext,
  inSpan,
  rememberEventContext,
  startSpan,
  traceHeaders,
  tracer,
  tracingEnabled,
} from './tracing.ts';
export { SpanKind } from './tracing.ts';
