// test-file-timeout: 60
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { permissionsFor, permits } from '../../core/nats-auth/index.ts';

const token = fc.stringMatching(/^[a-z][a-z0-9-]{0,11}$/);

test('property: a third party reaches its site gateway, the queries and discovery, and nothing else new', () => {
  fc.assert(
    fc.property(token, token, token, (site, name, other) => {
      fc.pre(other !== name && other !== site && !name.startsWith('caco-'));
      const p = permissionsFor({ name, role: 'third-party', site });
      for (const s of [`caco.${site}.gw.announce`, `caco.${site}.gw.append`, `caco.${site}.gw.read`, `caco.${site}.q.forecast`, `caco.${site}.q.plan`, `caco.${site}.q.offers`, '$SRV.PING', '$SRV.INFO', '$SRV.STATS', '$SRV.INFO.caco-gateway', '$SRV.PING.caco-gateway.abc']) {
        assert.ok(permits(p.publish, s), `third party may not publish ${s}`);
      }
      // It can answer discovery for a service named after itself, and no one else's.
      for (const s of [`$SRV.PING.${name}`, `$SRV.INFO.${name}`, `$SRV.STATS.${name}.id1`]) assert.ok(permits(p.subscribe, s), `third party may not subscribe ${s}`);
      // Not the bare subjects: its answer there could name itself caco-gateway (docs/external-agent.md §9).
      for (const s of ['$SRV.PING', '$SRV.INFO', '$SRV.STATS']) assert.ok(!permits(p.subscribe, s), `third party may subscribe ${s}`);
      // Not another site's gateway, not other gateway subjects, and it cannot listen on the gateway or the queries (no fake answers, no reading others' requests).
      for (const s of [`caco.${other}.gw.append`, `caco.${other}.q.forecast`, `caco.${site}.gw.admin`, `caco.${site}.gw.${other}.x`, `caco.${site}.evt.ext.${name}.x`, `caco.${site}.ledger.ext-${name}`]) {
        assert.ok(!permits(p.publish, s), `third party may publish ${s}`);
      }
      for (const s of [`caco.${site}.gw.announce`, `caco.${site}.gw.append`, `caco.${site}.q.forecast`, `$SRV.INFO.${other}`, `$SRV.PING.caco-gateway`, '$SRV.>'.replace('>', 'X.Y.Z.W')]) {
        assert.ok(!permits(p.subscribe, s), `third party may subscribe ${s}`);
      }
    }),
  );
});

test('property: a site serves its gateway, queries and discovery', () => {
  fc.assert(
    fc.property(token, token, (site, other) => {
      fc.pre(other !== site);
      const p = permissionsFor({ name: `site-${site}`, role: 'site', site });
      for (const s of [`caco.${site}.gw.announce`, `caco.${site}.gw.append`, `caco.${site}.gw.read`, `caco.${site}.q.plan`, '$SRV.PING', '$SRV.INFO.caco-gateway', '$SRV.STATS.caco-agent-compute.x1']) {
        assert.ok(permits(p.subscribe, s), `site may not subscribe ${s}`);
      }
      assert.ok(!permits(p.subscribe, `caco.${other}.q.plan`));
      assert.ok(p.allowResponses);
    }),
  );
});

test('property: a third party buys over Beckn on NATS: it sends requests, takes only its own callbacks, and cannot serve a BPP', () => {
  fc.assert(
    fc.property(token, token, token, token, (site, name, other, domain) => {
      fc.pre(other !== name);
      const p = permissionsFor({ name, role: 'third-party', site });
      for (const s of [`beckn.${domain}.search`, `beckn.${domain}.confirm`, `beckn.${domain}.bpp.${other}.select`]) assert.ok(permits(p.publish, s), `third party may not publish ${s}`);
      assert.ok(permits(p.subscribe, `beckn.${domain}.bap.${name}.on_search`), 'its own callbacks');
      for (const s of [`beckn.${domain}.bap.${other}.on_search`, `beckn.${domain}.search`, `beckn.${domain}.bpp.${other}.select`]) assert.ok(!permits(p.subscribe, s), `third party may subscribe ${s}`);
      // No forged callbacks to another buyer.
      assert.ok(!permits(p.publish, `beckn.${domain}.bap.${other}.on_confirm`));
    }),
  );
});

test("a third party's NATS user may not take a name of the site's own services (caco-gateway, caco-agent-<agent>)", () => {
  for (const name of ['caco-gateway', 'caco-agent-compute']) {
    assert.throws(() => permissionsFor({ name, role: 'third-party', site: 'london' }), (err: Error) => {
      assert.match(err.message, new RegExp(`third party "${name}" may not start with "caco-"`));
      return true;
    });
  }
  // The site's own user is not a third party: its name is its own.
  assert.ok(permissionsFor({ name: 'caco-site', role: 'site', site: 'london' }).allowResponses);
});
