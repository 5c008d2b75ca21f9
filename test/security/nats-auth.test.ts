/**
 * The role permissions, the server include and the credentials files, without a server
 * (nats-permissions.test.ts runs them on one).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { nkeys } from '@nats-io/transport-node';
import { describePermissionViolation, formatSeedFile, makeNatsCredentials, parseNatsCredentials, permissionsFor, permits, renderAccountsConf, subjectMatches, type NatsUserSpec } from '../../core/nats-auth/index.ts';
import { ledgerStreamName } from '../../core/store/jetstream-commit.ts';
import { usersFromFlags } from '../../cli/commands/nats.ts';

const token = fc.stringMatching(/^[a-z][a-z0-9-]{0,11}$/);
const STREAM_WRITES = ['CREATE', 'UPDATE', 'DELETE', 'PURGE', 'MSG.DELETE'];

describe('NATS role permissions', { timeout: 30_000 }, () => {
  test('subject matching follows NATS wildcards', () => {
    assert.ok(subjectMatches('a.>', 'a.b.c'));
    assert.ok(!subjectMatches('a.>', 'a'));
    assert.ok(subjectMatches('a.*.c', 'a.b.c'));
    assert.ok(!subjectMatches('a.*.c', 'a.b.c.d'));
    assert.ok(!subjectMatches('a.b', 'a.b.c'));
    assert.ok(subjectMatches('$JS.API.STREAM.DELETE.>', '$JS.API.STREAM.DELETE.CACO_X'));
  });

  test('property: a third party can command and use its gateway, and never write the ledger, events or streams', () => {
    fc.assert(
      fc.property(token, token, token, (site, name, other) => {
        fc.pre(other !== name && other !== site);
        const p = permissionsFor({ name, role: 'third-party', site });
        const ledger = ledgerStreamName(site);
        assert.ok(permits(p.publish, `caco.${site}.cmd.compute.submit`));
        assert.ok(permits(p.publish, `caco.${site}.gw.${name}.quote`));
        assert.ok(permits(p.subscribe, `caco.${site}.evt.compute.job.planned`));
        assert.ok(permits(p.subscribe, `_INBOX_${name}.abc.1`));
        for (const s of [`caco.${site}.ledger.job-1`, `caco.${other}.ledger.job-1`, `caco.${site}.anchor`, `caco.${site}.evt.grid.forecast.published`, `caco.${site}.dlq`, `caco.${site}.gw.${other}.x`, `$KV.caco_${site}_checkpoints.relay`, '$JS.API.INFO', `$JS.API.STREAM.INFO.${ledger}`, `$JS.API.CONSUMER.CREATE.${ledger}`, ...STREAM_WRITES.map((w) => `$JS.API.STREAM.${w}.${ledger}`)]) {
          assert.ok(!permits(p.publish, s), `third party may publish ${s}`);
        }
        for (const s of [`caco.${site}.ledger.job-1`, `caco.${site}.cmd.compute.submit`, '_INBOX.abc.1', `_INBOX_${other}.x`, `caco.${site}.gw.${other}.x`]) {
          assert.ok(!permits(p.subscribe, s), `third party may subscribe ${s}`);
        }
      }),
    );
  });

  test('property: an auditor reads its site and writes nothing', () => {
    fc.assert(
      fc.property(token, token, (site, name) => {
        const p = permissionsFor({ name, role: 'auditor', site });
        const ledger = ledgerStreamName(site);
        for (const s of [`$JS.API.STREAM.INFO.${ledger}`, `$JS.API.STREAM.MSG.GET.${ledger}`, `$JS.API.DIRECT.GET.${ledger}`, `$JS.API.CONSUMER.CREATE.${ledger}.x.caco.${site}.ledger.>`, `$JS.API.CONSUMER.MSG.NEXT.${ledger}.x`, `$JS.API.STREAM.INFO.KV_caco_${site}_checkpoints`, `$JS.API.STREAM.INFO.${ledger}-ANCHOR`, `$JS.API.STREAM.MSG.GET.KV_caco_${site}_quarantine`, `$JS.API.DIRECT.GET.KV_caco_${site}_keys.$KV.caco_${site}_keys.acme`]) {
          assert.ok(permits(p.publish, s), `auditor may not ${s}`);
        }
        for (const s of [`caco.${site}.ledger.job-1`, `caco.${site}.cmd.compute.submit`, `$KV.caco_${site}_checkpoints.relay`, `$KV.caco_${site}_keys.acme`, `caco.${site}.anchor`, `$JS.API.CONSUMER.DELETE.${ledger}.x`, `$JS.ACK.${ledger}.x.1.1.1.1.0`, ...STREAM_WRITES.map((w) => `$JS.API.STREAM.${w}.${ledger}`)]) {
          assert.ok(!permits(p.publish, s), `auditor may publish ${s}`);
        }
        assert.equal(p.allowResponses, false);
      }),
    );
  });

  test('property: a site writes its own ledger, events and buckets, creates its streams, and removes nothing', () => {
    fc.assert(
      fc.property(token, token, (site, other) => {
        fc.pre(other !== site);
        const p = permissionsFor({ name: `site-${site}`, role: 'site', site });
        const ledger = ledgerStreamName(site);
        for (const s of [`caco.${site}.ledger.job-1`, `caco.${site}.evt.compute.job.planned`, `caco.${site}.dlq`, `$KV.caco_${site}_checkpoints.relay`, `$KV.caco_${site}_keys.acme`, `$KV.caco_${site}_quarantine.1024`, `caco.${site}.anchor`, `$JS.API.STREAM.CREATE.${ledger}`, `$JS.API.STREAM.CREATE.${ledger}-ANCHOR`, `$JS.API.CONSUMER.DELETE.${ledger}.x`]) {
          assert.ok(permits(p.publish, s), `site may not publish ${s}`);
        }
        for (const s of [`caco.${other}.ledger.job-1`, `caco.${other}.evt.x`, `$KV.caco_${other}_checkpoints.relay`, `$JS.API.STREAM.CREATE.${ledgerStreamName(other)}`, '$JS.API.ACCOUNT.PURGE.CACO', ...STREAM_WRITES.filter((w) => w !== 'CREATE').flatMap((w) => [`$JS.API.STREAM.${w}.${ledger}`, `$JS.API.STREAM.${w}.${ledger}-ANCHOR`, `$JS.API.STREAM.${w}.KV_caco_${site}_checkpoints`])]) {
          assert.ok(!permits(p.publish, s), `site may publish ${s}`);
        }
        assert.ok(permits(p.subscribe, `caco.${site}.cmd.compute.submit`));
        assert.ok(!permits(p.subscribe, `caco.${other}.cmd.compute.submit`));
        // Beckn over NATS: the BPP takes requests and calls BAPs back, and reads no BAP's callbacks.
        assert.ok(permits(p.subscribe, 'beckn.deg_compute-flexibility.search'));
        assert.ok(permits(p.subscribe, 'beckn.deg_compute-flexibility.bpp.bpp_london_caco_local.confirm'));
        assert.ok(permits(p.publish, 'beckn.deg_compute-flexibility.bap.rival-buyer_example_org.on_search'));
        assert.ok(!permits(p.subscribe, 'beckn.deg_compute-flexibility.bap.rival-buyer_example_org.on_search'));
      }),
    );
  });

  test('an admin manages streams but writes no ledger commit and no account-wide operation', () => {
    const p = permissionsFor({ name: 'ops', role: 'admin' });
    for (const w of STREAM_WRITES) assert.ok(permits(p.publish, `$JS.API.STREAM.${w}.CACO_LONDON`));
    for (const s of ['caco.london.ledger.job-1', 'caco.london.evt.x', '$JS.API.ACCOUNT.PURGE.CACO', '$JS.API.SERVER.REMOVE', '$JS.API.META.LEADER.STEPDOWN']) assert.ok(!permits(p.publish, s), s);
  });

  test('bad users are refused with the field and the reason', () => {
    const bad: Array<[NatsUserSpec, RegExp]> = [
      [{ name: 'Acme', role: 'third-party', site: 'london' }, /name: "Acme" is not a user name/],
      [{ name: 'acme.x', role: 'third-party', site: 'london' }, /name:/],
      [{ name: 'acme', role: 'third-party' }, /site: third-party "acme" needs a site/],
      [{ name: 'ops', role: 'admin', site: 'london' }, /site: admin "ops" is not bound to a site/],
      [{ name: 'x', role: 'root' as never, site: 'london' }, /role: "root" is not a role/],
    ];
    for (const [u, re] of bad) assert.throws(() => permissionsFor(u), re);
  });
});

describe('the server include and the credentials files', { timeout: 30_000 }, () => {
  const key = () => nkeys.createUser().getPublicKey();

  test('the include lists each user once with its permissions, and refuses what the server would misread', () => {
    const text = renderAccountsConf([
      { name: 'site-london', role: 'site', site: 'london', publicKey: key() },
      { name: 'acme', role: 'third-party', site: 'london', publicKey: key() },
    ]);
    assert.match(text, /accounts \{\n {2}CACO \{\n {4}jetstream: enabled/);
    assert.equal(text.match(/\{ nkey: U[A-Z2-7]{55}$/gm)?.length, 2);
    assert.match(text, /"caco\.london\.gw\.acme\.>", "_INBOX_acme\.>"/);
    assert.doesNotMatch(text, /no_auth_user/);
    const k = key();
    assert.throws(() => renderAccountsConf([]), /users: give at least one user/);
    assert.throws(() => renderAccountsConf([{ name: 'a', role: 'admin', publicKey: 'UNOTAKEY' }]), /users\.a\.publicKey: is not a public user nkey/);
    assert.throws(() => renderAccountsConf([{ name: 'a', role: 'admin', publicKey: k }, { name: 'a', role: 'admin', publicKey: key() }]), /appears twice/);
    assert.throws(() => renderAccountsConf([{ name: 'a', role: 'admin', publicKey: k }, { name: 'b', role: 'admin', publicKey: k }]), /shares its key/);
  });

  test('a seed file round-trips with its inbox prefix; junk, two seeds and bad prefixes are refused', () => {
    const kp = nkeys.createUser();
    const seed = new TextDecoder().decode(kp.getSeed());
    const text = formatSeedFile({ name: 'acme', role: 'third-party', site: 'london', publicKey: kp.getPublicKey() }, seed);
    assert.match(text, new RegExp(`^${seed}$`, 'm'));
    assert.equal(parseNatsCredentials(text, 'acme.nk').inboxPrefix, '_INBOX_acme');
    assert.equal(parseNatsCredentials(`${seed}\n`, 'bare.nk').inboxPrefix, undefined);
    assert.throws(() => parseNatsCredentials('hello\n', 'x.nk'), /x\.nk: expected one user nkey seed .* found none; make one with `caco nats creds`/);
    assert.throws(() => parseNatsCredentials(`${seed}\n${seed}\n`, 'x.nk'), /found 2/);
    assert.throws(() => parseNatsCredentials(`# inbox-prefix: _INBOX.x\n${seed}\n`, 'x.nk'), /inbox-prefix "_INBOX\.x" must be one subject token/);
    const jwt = '-----BEGIN NATS USER JWT-----\neyJ0eXAiOiJKV1QiLCJhbGciOiJlZDI1NTE5LW5rZXkifQ.e30.sig\n------END NATS USER JWT------\n\n-----BEGIN USER NKEY SEED-----\n' + seed + '\n------END USER NKEY SEED------\n';
    assert.equal(typeof parseNatsCredentials(jwt, 'u.creds').authenticator, 'function');
  });

  test('a permission violation, even wrapped, becomes one line naming the subject', () => {
    const inner = new Error('Permissions Violation for Publish to "$JS.API.STREAM.DELETE.CACO_X"');
    assert.match(describePermissionViolation(new Error('request failed', { cause: inner })) ?? '', /^NATS refused this user permission to publish to \$JS\.API\.STREAM\.DELETE\.CACO_X: /);
    assert.match(describePermissionViolation(new Error("Permissions Violation for Subscription to \"caco.x.cmd.>\"")) ?? '', /subscribe to caco\.x\.cmd\.>/);
    assert.equal(describePermissionViolation(new Error('connection refused')), undefined);
    assert.equal(describePermissionViolation('nope'), undefined);
  });

  test('the generator writes private seeds and a public include, keeps keys on a re-run, and writes nothing for bad input', () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'caco-nats-creds-')), 'local');
    try {
      const users: NatsUserSpec[] = [
        { name: 'site-london', role: 'site', site: 'london' },
        { name: 'acme', role: 'third-party', site: 'london' },
      ];
      const made = makeNatsCredentials({ dir, users });
      assert.equal(statSync(dir).mode & 0o777, 0o700);
      for (const u of made.users) {
        assert.equal(statSync(u.seedFile).mode & 0o777, 0o600);
        assert.ok(u.created);
        assert.ok(readFileSync(made.accountsFile, 'utf8').includes(u.publicKey));
      }
      assert.equal(readFileSync(join(dir, '.gitignore'), 'utf8').trim().split('\n').pop(), '*');
      const again = makeNatsCredentials({ dir, users: [...users, { name: 'aud', role: 'auditor', site: 'london' }] });
      assert.deepEqual(again.users.slice(0, 2).map((u) => [u.publicKey, u.created]), made.users.map((u) => [u.publicKey, false]));
      assert.equal(again.users[2]!.created, true);
      assert.throws(() => makeNatsCredentials({ dir, users: [{ name: 'bob', role: 'third-party', site: 'london' }, { name: 'bob', role: 'auditor', site: 'london' }] }), /"bob" is given twice/);
      assert.ok(!existsSync(join(dir, 'bob.nk')));
    } finally {
      rmSync(join(dir, '..'), { recursive: true, force: true });
    }
  });

  test('caco nats creds flags: one site binds names by default; with several, name@site', () => {
    assert.deepEqual(usersFromFlags({ dir: 'x', site: ['london'], thirdParty: ['acme'], auditor: ['aud'], admin: ['ops'] }), [
      { name: 'site-london', role: 'site', site: 'london' },
      { name: 'acme', role: 'third-party', site: 'london' },
      { name: 'aud', role: 'auditor', site: 'london' },
      { name: 'ops', role: 'admin' },
    ]);
    assert.deepEqual(usersFromFlags({ dir: 'x', site: ['london', 'paris'], thirdParty: ['acme@paris'] })[2], { name: 'acme', role: 'third-party', site: 'paris' });
    assert.throws(() => usersFromFlags({ dir: 'x', site: ['london', 'paris'], thirdParty: ['acme'] }), /acme@<site>/);
  });
});
