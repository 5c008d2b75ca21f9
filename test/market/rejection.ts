import assert from 'node:assert/strict';
import type { Envelope } from '../../core/envelope/envelope.ts';
import { dataOf, type Market } from './harness.ts';
import type { Answer } from './client.ts';

/** The summary a `beckn.request.rejected` keeps of a refused request. */
export interface Rejected {
  action: string;
  messageId: string | null;
  httpStatus: number;
  code: string;
  reason: string;
  path: string | null;
}

/** Runs a request that must be refused: exactly one `beckn.request.rejected` is appended and no callback sent. */
export async function expectOneRejection(m: Market, run: () => Promise<Answer>): Promise<{ answer: Answer; rejected: Rejected }> {
  const before = (await m.events()).length;
  const inbox = m.testBapInbox.length;
  const answer = await run();
  await m.runtime.settle();
  const added: Envelope[] = (await m.events()).slice(before);
  assert.deepEqual(added.map((e) => e.type), ['beckn.request.rejected'], 'exactly one rejection and nothing else');
  assert.equal(m.testBapInbox.length, inbox, 'no callback for a refused request');
  return { answer, rejected: dataOf<Rejected>(added[0]!) };
}
