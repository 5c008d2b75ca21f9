// Plain-JS entry for the solver worker: installs tsx's loader in this thread, then loads the
// TypeScript worker. Works whether the parent runs under `tsx` or `node --import tsx`, where
// loader hooks are not reliably inherited by worker threads on Node 20.
import { register } from 'tsx/esm/api';

register();
await import('./solver-worker.ts');
