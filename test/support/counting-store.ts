import type { EventStore } from '../../core/store/event-store.ts';

/**
 * `inner` with counts of what it does: events handed out by readStream and by readAll, and
 * appends. For tests that bound the work a request makes the store do.
 */
export function countingStore(inner: EventStore): { store: EventStore; streamEvents: () => number; logEvents: () => number; appends: () => number } {
  let stream = 0;
  let log = 0;
  let appends = 0;
  const store = new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop === 'readStream') {
        return async function* (...args: Parameters<EventStore['readStream']>) {
          for await (const e of target.readStream(...args)) {
            stream++;
            yield e;
          }
        };
      }
      if (prop === 'readAll') {
        return async function* (...args: Parameters<EventStore['readAll']>) {
          for await (const e of target.readAll(...args)) {
            log++;
            yield e;
          }
        };
      }
      if (prop === 'append') {
        return (...args: Parameters<EventStore['append']>) => {
          appends++;
          return target.append(...args);
        };
      }
      const v: unknown = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  return { store, streamEvents: () => stream, logEvents: () => log, appends: () => appends };
}
