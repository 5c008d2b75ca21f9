import { performance } from 'node:perf_hooks';

/**
 * A turn for the event loop after every `everyMs` of work done in microtasks: work that never
 * waits on I/O otherwise keeps the loop from reading sockets, timers and other callers for as
 * long as it lasts. Off (`everyMs` 0) where the order of everything must not depend on the
 * machine's speed (a simulation's lockstep).
 */
export class LoopTurns {
  private since = performance.now();

  constructor(private readonly everyMs: number) {}

  async turn(): Promise<void> {
    if (this.everyMs <= 0) return;
    const now = performance.now();
    if (now - this.since < this.everyMs) return;
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.since = performance.now();
  }
}
