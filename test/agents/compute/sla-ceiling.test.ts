// test-file-timeout: 60
/**
 * Service classes per tenant: a class's lateness penalty is what the planner weighs against
 * other tenants' jobs, so a site may cap what each third party asks for
 * (CACO_MAX_SLA_CLASS_PER_PARTY). Deciders through DeciderSpec; the parser on its own.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DeciderSpec } from '../../../core/testing/index.ts';
import { createComputeAgent, describeSlaCeiling, parseSlaCeiling, slaCeilingFromEnv, type ComputeCmd, type SlaCeiling } from '../../../agents/compute/index.ts';
import { DEFAULT_SITE } from '../../../agents/compute/jobs/index.ts';
import type { Principal } from '../../../core/identity/index.ts';
import { ConfigError } from '../../../core/errors/index.ts';
import { T0, H, iso, alice, bob, operator } from './fixtures/tenants.ts';

const spec = (slaCeiling?: SlaCeiling) => DeciderSpec.for(createComputeAgent({ site: DEFAULT_SITE, planOptions: { inWorker: false, timeLimitS: 5 }, ...(slaCeiling ? { slaCeiling } : {}) })).at(T0);
const submit = (jobId: string, slaClass: 'gold' | 'silver' | 'bronze', principal: Principal) =>
  DeciderSpec.command<ComputeCmd>({ type: 'compute.job.submit', data: { jobId, class: 'training', powerKw: 100, runtimeMin: 60, earliestStart: iso(T0), deadline: iso(T0 + 12 * H), slaClass, preemptible: true }, principal });

async function outcome(s: ReturnType<typeof spec>, jobId: string, slaClass: 'gold' | 'silver' | 'bronze', by: Principal): Promise<string> {
  const out = await s.when(submit(jobId, slaClass, by));
  const e = out.decisions[0]!.events[0]!;
  if (e.type !== 'compute.job.rejected') return e.type;
  return e.data.problems.map((p) => `${p.field}: ${p.reason}`).join('; ');
}

describe('service class ceilings per third party', () => {
  test('a third party asking above its ceiling is refused naming slaClass; at or below it, or a party named higher, or an operator, is taken', async () => {
    const s = spec(parseSlaCeiling('silver,alice=gold'));
    assert.equal(await outcome(s, 'b1', 'gold', bob), 'slaClass: party "bob" may ask for service class silver at most here (asked gold; CACO_MAX_SLA_CLASS_PER_PARTY)');
    assert.equal(await outcome(s, 'b2', 'silver', bob), 'compute.job.submitted');
    assert.equal(await outcome(s, 'b3', 'bronze', bob), 'compute.job.submitted');
    assert.equal(await outcome(s, 'a1', 'gold', alice), 'compute.job.submitted');
    assert.equal(await outcome(s, 'o1', 'gold', operator), 'compute.job.submitted');
  });

  test('without a ceiling any class is taken, as before', async () => {
    assert.equal(await outcome(spec(), 'b1', 'gold', bob), 'compute.job.submitted');
  });

  test('the variable: a class for every party and named parties; bad entries name the variable and the entry', () => {
    const c = parseSlaCeiling(' bronze , alice=gold,bob = silver ');
    assert.equal(c.default, 'bronze');
    assert.deepEqual([...c.parties], [['alice', 'gold'], ['bob', 'silver']]);
    assert.equal(parseSlaCeiling('alice=silver').default, 'gold', 'parties not named may ask for any');
    assert.equal(slaCeilingFromEnv({}), undefined);
    // Set but empty is a mistake (a template's variable left unset), not "any class".
    for (const empty of ['', '  ']) assert.throws(() => slaCeilingFromEnv({ CACO_MAX_SLA_CLASS_PER_PARTY: empty }), (e: unknown) => e instanceof ConfigError && /CACO_MAX_SLA_CLASS_PER_PARTY: is set but empty/.test(e.message));
    assert.equal(describeSlaCeiling(c), 'third parties at most bronze service class (alice gold, bob silver)');
    for (const [raw, why] of [
      ['platinum', /"platinum": the class must be one of gold, silver, bronze/],
      ['silver,bronze', /gives the class for every party twice \(silver and bronze\)/],
      ['alice=gold,alice=silver', /names party "alice" twice/],
      ['al ice=gold', /"al ice" is not a party name/],
      ['silver,', /"": the class must be one of/],
    ] as const) {
      assert.throws(() => slaCeilingFromEnv({ CACO_MAX_SLA_CLASS_PER_PARTY: raw }), (e: unknown) => e instanceof ConfigError && e.message.includes('CACO_MAX_SLA_CLASS_PER_PARTY') && why.test(e.message), raw);
    }
  });
});
