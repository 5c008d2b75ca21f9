// Plain-JS entry for the signing worker: installs tsx's loader in this thread, then loads the
// TypeScript worker (worker threads do not reliably inherit the parent's loader on Node 20).
import { register } from 'tsx/esm/api';

register();
await import('./signer-worker.ts');
