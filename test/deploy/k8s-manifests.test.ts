import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { parse, parseAllDocuments } from 'yaml';
import { runCommand } from '../../cli/commands/run.ts';
import { usersFromFlags } from '../../cli/commands/nats.ts';
import { checkAll, checkDeployments, checkHelmValues, checkInventory, checkNetworkPolicy, checkNoPlaintextSecrets, checkSecrets, checkServices, flagsOf, type DeploySet, type K8sObject } from './k8s-checks.ts';

const root = join(import.meta.dirname, '../..');
const k8s = join(root, 'deploy/k8s');
/** Files in deploy/k8s that are not applied by `kubectl apply -k`. */
const NOT_APPLIED = new Set(['kustomization.yaml', 'nats-values.yaml', 'secrets.template.yaml']);

function docsOf(file: string): K8sObject[] {
  const text = readFileSync(join(k8s, file), 'utf8');
  return parseAllDocuments(text).map((d, i) => {
    if (d.errors.length) throw new Error(`${file} document ${i + 1}: ${d.errors.map((e) => e.message).join('; ')}`);
    const doc: unknown = d.toJSON();
    if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new Error(`${file} document ${i + 1} is not a mapping`);
    return { file, doc: doc as Record<string, unknown> };
  });
}

function loadSet(): DeploySet {
  const kustomization = parse(readFileSync(join(k8s, 'kustomization.yaml'), 'utf8')) as Record<string, unknown>;
  const manifestFiles = readdirSync(k8s).filter((f) => f.endsWith('.yaml') && !NOT_APPLIED.has(f)).sort();
  const listed = (kustomization['resources'] as unknown[]).map(String).filter((f) => existsSync(join(k8s, f)));
  const run = runCommand();
  return {
    resources: listed.flatMap(docsOf),
    secretTemplates: docsOf('secrets.template.yaml'),
    kustomization,
    manifestFiles,
    helmValues: parse(readFileSync(join(k8s, 'nats-values.yaml'), 'utf8')) as Record<string, unknown>,
    dockerfile: readFileSync(join(root, 'Dockerfile'), 'utf8'),
    version: (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version,
    siteUserOf: (site) => usersFromFlags({ dir: 'unused', site: [site] })[0]!.name,
    gitignore: readFileSync(join(k8s, '.gitignore'), 'utf8'),
    runFlags: new Set(run.options.map((o) => o.long).filter((l): l is string => l !== undefined)),
  };
}

const fileExists = (p: string) => existsSync(join(root, p));

/** A deep copy of the set with `mutate` applied to it: the broken copies the checks must refuse. */
function broken(set: DeploySet, mutate: (s: { -readonly [K in keyof DeploySet]: DeploySet[K] }) => void): DeploySet {
  const copy = { ...structuredClone({ ...set, siteUserOf: undefined, runFlags: undefined }), siteUserOf: set.siteUserOf, runFlags: set.runFlags } as { -readonly [K in keyof DeploySet]: DeploySet[K] };
  mutate(copy);
  return copy;
}

type Rec = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- test-only reach into parsed YAML
function find(set: DeploySet, kind: string, name: string): Rec {
  const o = [...set.resources, ...set.secretTemplates].find((x) => x.doc['kind'] === kind && (x.doc['metadata'] as Rec)['name'] === name);
  assert.ok(o, `${kind}/${name} in the set`);
  return o.doc as Rec;
}
function container(set: DeploySet, deployment: string): Rec {
  return find(set, 'Deployment', deployment)['spec']['template']['spec']['containers'][0] as Rec;
}
function setArg(c: Rec, flag: string, value: string): void {
  const args = c['args'] as string[];
  args[args.indexOf(flag) + 1] = value;
}

describe('deploy/k8s: names, ports and references agree', { timeout: 30_000 }, () => {
  const set = loadSet();

  test('the shipped manifests, Helm values, kustomization and Dockerfile pass every check', () => {
    assert.deepEqual(checkAll(set, fileExists), []);
    // Not vacuous: two sites, each a Deployment and a Service, and the Secrets they use.
    const deployments = set.resources.filter((o) => o.doc['kind'] === 'Deployment');
    assert.deepEqual(deployments.map((d) => flagsOf((d.doc as Rec)['spec']['template']['spec']['containers'][0]['args'] as string[]).get('--site')).sort(), ['london', 'manchester']);
    assert.equal(set.resources.filter((o) => o.doc['kind'] === 'Service').length, 2);
    assert.equal(set.secretTemplates.length, 3);
  });

  const cases: Array<[string, (s: { -readonly [K in keyof DeploySet]: DeploySet[K] }) => void, (set: DeploySet) => string[], RegExp]> = [
    ['a Deployment mounts a Secret nobody defines', (s) => { find(s, 'Deployment', 'caco-london')['spec']['template']['spec']['volumes'][0]['secret']['secretName'] = 'caco-nats-site-leeds'; }, (s) => checkDeployments(s, fileExists), /Secret caco-nats-site-leeds, which no manifest defines/],
    ['a Deployment reads a ConfigMap nobody defines', (s) => { container(s, 'caco-london')['envFrom'][0]['configMapRef']['name'] = 'caco-settings'; }, (s) => checkDeployments(s, fileExists), /envFrom ConfigMap caco-settings is not defined/],
    ['a Service selects no Deployment', (s) => { find(s, 'Service', 'caco-manchester')['spec']['selector']['caco.site'] = 'leeds'; }, checkServices, /Service caco-manchester: its selector matches 0 Deployments/],
    ['a Service targets a port the container lacks', (s) => { find(s, 'Service', 'caco-london')['spec']['ports'][0]['targetPort'] = 'web'; }, checkServices, /targetPort web is not a port/],
    ['a probe asks a port the container lacks', (s) => { container(s, 'caco-london')['livenessProbe']['httpGet']['port'] = 9090; }, (s) => checkDeployments(s, fileExists), /livenessProbe port 9090 is not a port/],
    ['the NATS URL names another service', (s) => { setArg(container(s, 'caco-london'), '--nats-url', 'nats://nats-cluster:4222'); }, (s) => checkDeployments(s, fileExists), /--nats-url nats:\/\/nats-cluster:4222 is not the NATS service nats:\/\/nats:4222/],
    ['the NATS URL has the wrong port', (s) => { setArg(container(s, 'caco-manchester'), '--nats-url', 'nats://nats:4223'); }, (s) => checkDeployments(s, fileExists), /is not the NATS service/],
    ['the Helm values move the service', (s) => { s.helmValues['fullnameOverride'] = 'caco-nats'; }, (s) => checkDeployments(s, fileExists), /is not the NATS service nats:\/\/caco-nats:4222/],
    ['two Deployments run the same site', (s) => { setArg(container(s, 'caco-manchester'), '--site', 'london'); }, (s) => checkDeployments(s, fileExists), /--site london is also run by Deployment caco-london/],
    ['the ledger at one replica', (s) => { setArg(container(s, 'caco-london'), '--replicas', '1'); }, (s) => checkDeployments(s, fileExists), /--replicas must be 3, is 1/],
    ['an image without a tag', (s) => { container(s, 'caco-london')['image'] = 'caco'; }, (s) => checkDeployments(s, fileExists), /image caco has no tag/],
    ['an image at :latest', (s) => { container(s, 'caco-london')['image'] = 'caco:latest'; }, (s) => checkDeployments(s, fileExists), /uses :latest/],
    ['a NATS image at :latest', (s) => { (s.helmValues as Rec)['container']['image']['tag'] = 'latest'; }, checkHelmValues, /container\.image: image nats:latest uses :latest/],
    ['no memory limit', (s) => { delete container(s, 'caco-manchester')['resources']['limits']['memory']; }, (s) => checkDeployments(s, fileExists), /resources\.limits\.memory is missing/],
    ['no requests', (s) => { delete container(s, 'caco-manchester')['resources']['requests']; }, (s) => checkDeployments(s, fileExists), /resources\.requests\.cpu is missing/],
    ['a real seed in the Secret template', (s) => { find(s, 'Secret', 'caco-nats-site-london')['stringData']['nats.nk'] = 'SUAIBDPBAUTWCWBKIO6XHQNINK5FWJW4OHLXC3HQ2KFE4PEJUA44CNHTC4'; }, (s) => [...checkSecrets(s), ...checkNoPlaintextSecrets(s)], /not a placeholder[\s\S]*looks like a real credential/],
    ['a seed pasted into the Helm values', (s) => { (s.helmValues as Rec)['config']['merge']['authorization'] = { token: 'SUAIBDPBAUTWCWBKIO6XHQNINK5FWJW4OHLXC3HQ2KFE4PEJUA44CNHTC4' }; }, checkNoPlaintextSecrets, /nats-values\.yaml: holds what looks like a real credential/],
    ['a Secret the generator does not make', (s) => { (s.kustomization['secretGenerator'] as Rec[]).pop(); }, checkSecrets, /Secret caco-nats-site-manchester is in the template but no secretGenerator makes it/],
    ['a generator reading seeds from outside local/', (s) => { (s.kustomization['secretGenerator'] as Rec[])[1]!['files'] = ['nats.nk=../nats/local/site-london.nk']; }, checkSecrets, /outside local\//],
    ['the site mounts another user\'s seed', (s) => { (s.kustomization['secretGenerator'] as Rec[])[1]!['files'] = ['nats.nk=local/site-manchester.nk']; }, (s) => checkDeployments(s, fileExists), /made from local\/site-manchester\.nk, not the seed of user site-london/],
    ['--creds names a key the Secret lacks', (s) => { setArg(container(s, 'caco-london'), '--creds', '/etc/caco/nats/site.creds'); }, (s) => checkDeployments(s, fileExists), /Secret caco-nats-site-london has no key site\.creds/],
    ['the data folder (the site\'s keys) on an emptyDir', (s) => { find(s, 'Deployment', 'caco-london')['spec']['template']['spec']['volumes'].find((v: Rec) => v['name'] === 'data')!['emptyDir'] = {}; delete find(s, 'Deployment', 'caco-london')['spec']['template']['spec']['volumes'].find((v: Rec) => v['name'] === 'data')!['persistentVolumeClaim']; }, (s) => checkDeployments(s, fileExists), /--data-dir \/app\/var is not on a PersistentVolumeClaim: it holds the site's keys/],
    ['the data folder on a claim nobody defines', (s) => { find(s, 'Deployment', 'caco-manchester')['spec']['template']['spec']['volumes'].find((v: Rec) => v['name'] === 'data')!['persistentVolumeClaim']['claimName'] = 'caco-leeds-data'; }, (s) => checkDeployments(s, fileExists), /PersistentVolumeClaim caco-leeds-data, which no manifest defines/],
    ['fsGroup changed on every mount (the kept keys made group-writable)', (s) => { delete find(s, 'Deployment', 'caco-london')['spec']['template']['spec']['securityContext']['fsGroupChangePolicy']; }, (s) => checkDeployments(s, fileExists), /needs fsGroupChangePolicy: OnRootMismatch/],
    ['a world-readable seed', (s) => { find(s, 'Deployment', 'caco-london')['spec']['template']['spec']['volumes'][0]['secret']['defaultMode'] = 0o444; }, (s) => checkDeployments(s, fileExists), /readable by every user/],
    ['an option caco run does not have', (s) => { setArg(container(s, 'caco-london'), '--http-port', '8080'); (container(s, 'caco-london')['args'] as string[]).push('--port', '8080'); }, (s) => checkDeployments(s, fileExists), /caco run has no option --port/],
    ['the HTTP endpoint on loopback (probes could not reach it)', (s) => { setArg(container(s, 'caco-london'), '--http-host', '127.0.0.1'); }, (s) => checkDeployments(s, fileExists), /--http-host must be 0\.0\.0\.0/],
    ['the Dockerfile exposes another port', (s) => { s.dockerfile = s.dockerfile.replace(/^EXPOSE 8080$/m, 'EXPOSE 3000'); }, (s) => checkDeployments(s, fileExists), /--http-port 8080 is not EXPOSEd by the Dockerfile \(3000\)/],
    ['the Dockerfile runs a file that is not there', (s) => { s.dockerfile = s.dockerfile.replace('cli/caco.ts', 'cli/main.ts'); }, (s) => checkDeployments(s, fileExists), /runs no file of the repository/],
    ['the Dockerfile runs as root', (s) => { s.dockerfile = s.dockerfile.replace(/^USER node$/m, 'USER root'); }, (s) => checkDeployments(s, fileExists), /non-root USER/],
    ['a rolling update would run two processes of a site', (s) => { find(s, 'Deployment', 'caco-london')['spec']['strategy']['type'] = 'RollingUpdate'; }, (s) => checkDeployments(s, fileExists), /strategy must be Recreate/],
    ['a misspelt chart key', (s) => { const js = (s.helmValues as Rec)['config']['jetstream']; js['filestore'] = js['fileStore']; delete js['fileStore']; }, checkHelmValues, /config\.jetstream\.filestore is not a key of the nats chart's values[\s\S]*file store on a PVC/],
    ['a single NATS node', (s) => { (s.helmValues as Rec)['config']['cluster']['replicas'] = 1; }, checkHelmValues, /replicas: 3/],
    ['the accounts include outside the mounted Secret', (s) => { (s.helmValues as Rec)['config']['merge']['$include'] = './accounts.conf'; }, checkHelmValues, /\/etc\/nats-config\/accounts\.conf\) is not under the accounts mount \/etc\/nats-accounts/],
    ['no accounts include (anonymous clients accepted)', (s) => { delete (s.helmValues as Rec)['config']['merge']['$include']; }, checkHelmValues, /no \$include of the accounts file/],
    ['the accounts volume names another Secret', (s) => { (s.helmValues as Rec)['podTemplate']['patch'][0]['value']['secret']['secretName'] = 'nats-accounts'; }, checkHelmValues, /refers to Secret nats-accounts, which no manifest defines/],
    ['a manifest file the kustomization leaves out', (s) => { (s.kustomization['resources'] as string[]).splice((s.kustomization['resources'] as string[]).indexOf('site-manchester.yaml'), 1); }, checkInventory, /site-manchester\.yaml is not in kustomization\.yaml's resources/],
    ['the NetworkPolicy closes the client port to a site', (s) => { const np = find(s, 'NetworkPolicy', 'nats'); np['spec']['ingress'][0]['from'][0]['podSelector']['matchLabels'] = { 'caco.site': 'london' }; }, checkNetworkPolicy, /client port is closed to the CACO pods .*manchester/],
  ];

  for (const [name, mutate, check, expected] of cases) {
    test(`refuses a broken copy: ${name}`, () => {
      const bad = broken(set, mutate);
      const problems = check(bad);
      assert.match(problems.join('\n'), expected, `problems found:\n${problems.join('\n')}`);
      // The broken copy is a copy: the shipped set still passes.
      assert.deepEqual(check(set), []);
    });
  }

  test('any Secret template value that is not a "<placeholder>" is refused', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 80 }).filter((v) => !/^<[^<>]*>$/.test(v)), (value) => {
        const bad = broken(set, (s) => { find(s, 'Secret', 'caco-nats-accounts')['stringData']['accounts.conf'] = value; });
        return checkSecrets(bad).some((p) => p.includes('caco-nats-accounts stringData.accounts.conf: not a placeholder'));
      }),
      { numRuns: 200 },
    );
  });
});
