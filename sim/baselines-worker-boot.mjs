// Plain-JS entry for the baselines thread: installs tsx's loader in this thread (loader hooks
// are not reliably inherited by worker threads on Node 20), then loads the TypeScript.
import { register } from 'tsx/esm/api';

register();
await import('./baselines-thread.ts');
