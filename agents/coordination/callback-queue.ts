/** The per-BAP fair queue now lives in the runtime, where the effects reactor sends through it. */
export { CallbackQueue, type CallbackQueueOptions, type Offered } from '../../core/runtime/index.ts';
