import type { QuarantineRecord } from './event-store.ts';

/**
 * A quarantine record as read back from a store, checked: whoever can write the store can
 * write its quarantine too, and `caco audit` lists it. A record is rebuilt from the fields it
 * should have, each of its type (anything else is dropped); text that is not one is reported as
 * a record of its own, at `at`, saying so, rather than failing the listing or being passed over.
 */
export function readQuarantineRecord(text: string, at: number, where: string): QuarantineRecord {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    return damaged(at, where, `not JSON: ${(err as Error).message.slice(0, 80)}`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return damaged(at, where, 'not a JSON object');
  const o = v as Record<string, unknown>;
  const position = o['position'];
  const reason = o['reason'];
  if (typeof position !== 'number' || !Number.isSafeInteger(position) || typeof reason !== 'string') return damaged(at, where, 'no position (an integer) and reason (text)');
  const text_ = (k: string) => (typeof o[k] === 'string' ? { [k]: o[k] as string } : {});
  const whole = (k: string) => (typeof o[k] === 'number' && Number.isSafeInteger(o[k]) ? { [k]: o[k] as number } : {});
  return {
    position,
    reason,
    ...text_('stream'),
    ...whole('revision'),
    ...text_('eventId'),
    ...text_('type'),
    ...text_('source'),
    ...whole('bytes'),
    ...text_('sha256'),
    detectedAt: typeof o['detectedAt'] === 'string' ? o['detectedAt'] : '',
  };
}

function damaged(at: number, where: string, what: string): QuarantineRecord {
  return { position: at, reason: `${where} holds at ${at} something that is not a quarantine record (${what}): the quarantine was edited or damaged`, detectedAt: '' };
}
