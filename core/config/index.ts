export { DEFAULT_CONFIG, loadConfig, type CacoConfig, type LoadConfigOptions } from './config.ts';
