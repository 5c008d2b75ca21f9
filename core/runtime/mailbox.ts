/**
 * A serial work queue: jobs run one at a time in the order they were given. `idle()`
 * resolves when nothing is queued or running.
 */
export class Mailbox {
  private queue: Array<() => Promise<void>> = [];
  private running = false;
  private idleWaiters: Array<() => void> = [];

  get size(): number {
    return this.queue.length + (this.running ? 1 : 0);
  }

  run<T>(job: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push(() => job().then(resolve, reject));
      if (!this.running) void this.drain();
    });
  }

  idle(): Promise<void> {
    if (!this.running && this.queue.length === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  private async drain(): Promise<void> {
    this.running = true;
    while (this.queue.length) {
      const job = this.queue.shift()!;
      await job().catch(() => undefined);
    }
    this.running = false;
    const w = this.idleWaiters;
    this.idleWaiters = [];
    for (const r of w) r();
  }
}
