export { DEFAULT_CONFIG, loadConfig, SITE_NAME, type CacoConfig, type LoadConfigOptions } from './config.ts';
export { inputLimitsFromEnv, type InputLimitsConfig } from './input-limits-config.ts';
export { redactNatsServers, redactUrl } from './redact.ts';
