// test-file-timeout: 60
/**
 * A third party pinning its own job again and again (review: each pin was a new ~9 KB
 * compute.job.pinned event, bounded only by the command rate): a pin that changes nothing and
 * a release of a job not pinned are answered without an event, and a job takes at most
 * DEFAULT_MAX_OVERRIDES_PER_JOB pins and releases from its submitter.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { computeSite, eventsAfter, validJob } from './support.ts';
import { loadedKey, signWithKey } from '../core/gateway/support.ts';
import type { SiteIdentity } from '../../core/identity/index.ts';
import type { CommandReply } from '../../core/runtime/index.ts';
import { DEFAULT_MAX_OVERRIDES_PER_JOB } from '../../agents/compute/index.ts';

const reason = '\u{1F600}'.repeat(2048); // 2,048 code points, 8 KB of UTF-8

describe('a third party cannot grow the ledger by overriding its own job again and again', { timeout: 60_000 }, () => {
  test('100 identical pins and 20 releases record one pin and one release; changes stop at the limit, named', async () => {
    const site = await computeSite('override-flood', { rateLimit: { perSecond: 1000, burst: 1000 } });
    try {
      const key = loadedKey('acme');
      await (site.rt.identity as SiteIdentity).admin.add(key);
      let n = 0;
      const send = (name: 'submit' | 'pin' | 'release', data: unknown): Promise<CommandReply> => {
        const id = `acme-${n++}`;
        return site.rt.sendEnvelope('compute', name, signWithKey({ id, type: `compute.job.${name}`, version: 1, time: '2023-07-03T00:00:00Z', source: 'acme', correlationId: id, causationId: null, data } as never, key));
      };
      const pin = (startAt: string) => send('pin', { jobId: 'mine', startAt, operator: 'x'.repeat(256), reason });
      const release = () => send('release', { jobId: 'mine', operator: 'x'.repeat(256), reason });
      const sub = await send('submit', { ...validJob('mine'), deadline: '2023-07-05T09:00:00Z' });
      assert.ok(sub.ok && sub.events.some((e) => e.type === 'compute.job.submitted'), JSON.stringify(sub));
      await site.rt.settle();
      const from = await site.store.headPosition();
      const types = async () => {
        await site.rt.settle();
        const m: Record<string, number> = {};
        for (const e of (await eventsAfter(site.store, from)).events) m[e.type] = (m[e.type] ?? 0) + 1;
        return m;
      };

      // Releasing a job that is not pinned: answered, nothing recorded.
      for (let i = 0; i < 10; i++) {
        const r = await release();
        assert.ok(r.ok && r.events.length === 0, JSON.stringify(r).slice(0, 300));
      }
      const replies: CommandReply[] = [];
      for (let i = 0; i < 100; i++) replies.push(await pin('2023-07-03T02:00:00Z'));
      assert.ok(replies.every((r) => r.ok), 'every pin is answered ok');
      assert.deepEqual(replies.map((r) => (r.ok ? r.events.map((e) => e.type).join() : '')), ['compute.job.pinned', ...Array<string>(99).fill('')]);
      for (let i = 0; i < 10; i++) await release();
      assert.deepEqual(await types(), { 'compute.job.pinned': 1, 'compute.job.released': 1 });

      // Changes: taken until the job has had DEFAULT_MAX_OVERRIDES_PER_JOB, then refused, the limit named.
      const N = DEFAULT_MAX_OVERRIDES_PER_JOB;
      let taken = 2;
      let refused: CommandReply | undefined;
      for (let i = 0; i < 3 * N && !refused; i++) {
        const r = i % 2 === 0 ? await pin(`2023-07-03T0${2 + (i % 4 === 0 ? 1 : 2)}:00:00Z`) : await release();
        assert.ok(r.ok, JSON.stringify(r).slice(0, 300));
        if (r.events.some((e) => e.type === 'compute.job.rejected')) refused = r;
        else {
          assert.equal(r.events.length, 1, JSON.stringify(r).slice(0, 300));
          taken++;
        }
      }
      assert.equal(taken, N);
      const rejected = refused?.ok ? (refused.events[0]!.data as { problems: Array<{ field: string; reason: string }> }).problems : [];
      assert.match(rejected[0]?.reason ?? '', new RegExp(`the job has had ${N} pins and releases, the most one job takes from its submitter \\(maxOverridesPerJob ${N}\\)`));
      const after = await types();
      assert.equal((after['compute.job.pinned'] ?? 0) + (after['compute.job.released'] ?? 0), N, JSON.stringify(after));
      // The site's operator still may.
      const op = await site.rt.send('compute', 'pin', { jobId: 'mine', startAt: '2023-07-03T06:00:00Z', operator: 'ops' }, { source: 'operator' });
      assert.ok(op.ok && op.events.some((e) => e.type === 'compute.job.pinned'), JSON.stringify(op).slice(0, 300));
    } finally {
      await site.close();
    }
  });
});
