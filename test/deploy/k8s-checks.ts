/**
 * Consistency checks over deploy/k8s: names, ports and references between the CACO
 * manifests, the NATS Helm values, the kustomization and the Dockerfile. Pure: the caller
 * loads the files; every check returns the problems it found (empty: consistent), so a test
 * can run them on a deliberately broken copy and see each one fail.
 */

/** One parsed YAML document of a manifest file; `file` says where it came from. */
export interface K8sObject {
  readonly file: string;
  readonly doc: Record<string, unknown>;
}

export interface DeploySet {
  /** Documents of the files kustomization.yaml lists (what `kubectl apply -k` applies). */
  readonly resources: ReadonlyArray<K8sObject>;
  /** Documents of secrets.template.yaml. */
  readonly secretTemplates: ReadonlyArray<K8sObject>;
  readonly kustomization: Record<string, unknown>;
  /** The manifest files present in deploy/k8s (names only). */
  readonly manifestFiles: ReadonlyArray<string>;
  readonly helmValues: Record<string, unknown>;
  readonly dockerfile: string;
  /** package.json's version: the image tag the manifests pin. */
  readonly version: string;
  /** Names of the NATS users `caco nats creds` makes for these sites (cli/commands/nats.ts). */
  readonly siteUserOf: (site: string) => string;
  /** deploy/k8s/.gitignore */
  readonly gitignore: string;
  /** The long options `caco run` accepts (cli/commands/run.ts). */
  readonly runFlags: ReadonlySet<string>;
}

/**
 * Keys of the nats chart's values.yaml (chart 1.3.16) that nats-values.yaml may use. The
 * chart ignores an unknown key without a word, so a typo would silently drop the setting.
 * Below a `merge`/`patch`/`resources`/`topologySpreadConstraints` key the content is free-form.
 */
export const CHART_VALUE_KEYS: ReadonlySet<string> = new Set([
  'fullnameOverride',
  'nameOverride',
  'config',
  'config.cluster',
  'config.cluster.enabled',
  'config.cluster.replicas',
  'config.cluster.port',
  'config.cluster.merge',
  'config.cluster.patch',
  'config.jetstream',
  'config.jetstream.enabled',
  'config.jetstream.fileStore',
  'config.jetstream.fileStore.enabled',
  'config.jetstream.fileStore.dir',
  'config.jetstream.fileStore.maxSize',
  'config.jetstream.fileStore.pvc',
  'config.jetstream.fileStore.pvc.enabled',
  'config.jetstream.fileStore.pvc.size',
  'config.jetstream.fileStore.pvc.storageClassName',
  'config.jetstream.memoryStore',
  'config.jetstream.memoryStore.enabled',
  'config.jetstream.memoryStore.maxSize',
  'config.jetstream.merge',
  'config.nats',
  'config.nats.port',
  'config.monitor',
  'config.monitor.enabled',
  'config.monitor.port',
  'config.serverNamePrefix',
  'config.merge',
  'config.patch',
  'container',
  'container.image',
  'container.image.repository',
  'container.image.tag',
  'container.env',
  'container.merge',
  'container.patch',
  'container.resources',
  'reloader',
  'reloader.enabled',
  'reloader.image',
  'reloader.image.repository',
  'reloader.image.tag',
  'podTemplate',
  'podTemplate.merge',
  'podTemplate.patch',
  'podTemplate.topologySpreadConstraints',
  'podDisruptionBudget',
  'podDisruptionBudget.enabled',
  'service',
  'service.enabled',
  'service.ports',
  ...['nats', 'leafnodes', 'websocket', 'mqtt', 'cluster', 'gateway', 'monitor', 'profiling'].flatMap((p) => [`service.ports.${p}`, `service.ports.${p}.enabled`]),
  'natsBox',
  'natsBox.enabled',
]);
const FREE_FORM = new Set(['merge', 'patch', 'resources', 'topologySpreadConstraints', 'env']);

/** The chart's selector labels for release `nats` (templates/_helpers.tpl: nats.selectorLabels). */
export const HELM_RELEASE = 'nats';

/** A placeholder as secrets.template.yaml writes it: `<what goes here>`. */
const PLACEHOLDER = /^<[^<>]*>$/;
/** What real secrets look like: nkey seeds, private keys, JWTs. */
const SECRET_LIKE = [/S[UAOCNX][A-Z2-7]{56}/, /-----BEGIN [A-Z ]*PRIVATE KEY-----/, /eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\./];

type Rec = Record<string, unknown>;

function isRec(x: unknown): x is Rec {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}
function rec(x: unknown): Rec {
  return isRec(x) ? x : {};
}
function list(x: unknown): unknown[] {
  return Array.isArray(x) ? x : [];
}
function str(x: unknown): string | undefined {
  return typeof x === 'string' ? x : undefined;
}
function at(x: unknown, ...path: string[]): unknown {
  let cur = x;
  for (const p of path) cur = rec(cur)[p];
  return cur;
}
function nameOf(o: K8sObject): string {
  return str(at(o.doc, 'metadata', 'name')) ?? '(unnamed)';
}
function kindOf(o: K8sObject): string {
  return str(o.doc['kind']) ?? '(no kind)';
}
function labelsMatch(selector: unknown, labels: unknown): boolean {
  const sel = rec(selector);
  const lab = rec(labels);
  return Object.keys(sel).length > 0 && Object.entries(sel).every(([k, v]) => lab[k] === v);
}

/** `--flag value` pairs of an argument list (flags without a value are not used by these manifests). */
export function flagsOf(args: ReadonlyArray<string>): Map<string, string> {
  const flags = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a.startsWith('--') && i + 1 < args.length && !args[i + 1]!.startsWith('--')) flags.set(a, args[++i]!);
  }
  return flags;
}

/** `key=path` or `path` entries of a secretGenerator: the key each file becomes. */
function generatorFiles(gen: unknown): Map<string, string> {
  const out = new Map<string, string>();
  for (const f of list(at(gen, 'files'))) {
    const s = str(f) ?? '';
    const eq = s.indexOf('=');
    const path = eq >= 0 ? s.slice(eq + 1) : s;
    out.set(eq >= 0 ? s.slice(0, eq) : path.split('/').pop()!, path);
  }
  return out;
}

function objectsOf(set: DeploySet, kind: string): K8sObject[] {
  return set.resources.filter((o) => kindOf(o) === kind);
}

/** Secret name -> its keys, as the template declares them. */
function secretKeys(set: DeploySet): Map<string, Set<string>> {
  const m = new Map<string, Set<string>>();
  for (const s of set.secretTemplates) {
    m.set(nameOf(s), new Set([...Object.keys(rec(s.doc['stringData'])), ...Object.keys(rec(s.doc['data']))]));
  }
  return m;
}

function configMapKeys(set: DeploySet): Map<string, Set<string>> {
  const m = new Map<string, Set<string>>();
  for (const c of objectsOf(set, 'ConfigMap')) m.set(nameOf(c), new Set(Object.keys(rec(c.doc['data']))));
  return m;
}

/** Every document: kind, name, unique; the kustomization lists exactly the manifest files. */
export function checkInventory(set: DeploySet): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const o of [...set.resources, ...set.secretTemplates]) {
    if (!str(o.doc['apiVersion']) || !str(o.doc['kind']) || !str(at(o.doc, 'metadata', 'name'))) problems.push(`${o.file}: a document without apiVersion, kind or metadata.name`);
    const id = `${kindOf(o)}/${nameOf(o)}`;
    if (seen.has(id)) problems.push(`${o.file}: ${id} is defined twice`);
    seen.add(id);
  }
  const listed = list(set.kustomization['resources']).map((r) => str(r) ?? '');
  for (const f of listed) if (!set.manifestFiles.includes(f)) problems.push(`kustomization.yaml lists ${f}, which is not in deploy/k8s`);
  for (const f of set.manifestFiles) if (!listed.includes(f)) problems.push(`${f} is not in kustomization.yaml's resources: kubectl apply -k would leave it out`);
  if (set.resources.some((o) => kindOf(o) === 'Secret')) problems.push('a Secret is among the applied resources: real Secrets come from the secretGenerator, the template is never applied');
  return problems;
}

/** The template's Secrets are placeholders, and the generator makes the same Secrets from git-ignored files. */
export function checkSecrets(set: DeploySet): string[] {
  const problems: string[] = [];
  for (const s of set.secretTemplates) {
    if (kindOf(s) !== 'Secret') problems.push(`${s.file}: ${kindOf(s)}/${nameOf(s)} is not a Secret`);
    for (const field of ['stringData', 'data'] as const) {
      for (const [k, v] of Object.entries(rec(s.doc[field]))) {
        const text = field === 'data' ? Buffer.from(str(v) ?? '', 'base64').toString('utf8') : (str(v) ?? '');
        if (!PLACEHOLDER.test(text)) problems.push(`Secret ${nameOf(s)} ${field}.${k}: not a placeholder "<...>"; real credentials never go into the repository`);
      }
    }
  }
  const templates = secretKeys(set);
  const gens = new Map(list(set.kustomization['secretGenerator']).map((g) => [str(at(g, 'name')) ?? '', generatorFiles(g)] as const));
  for (const [name, keys] of templates) {
    const g = gens.get(name);
    if (!g) { problems.push(`Secret ${name} is in the template but no secretGenerator makes it`); continue; }
    const gk = [...g.keys()].sort().join(',');
    if (gk !== [...keys].sort().join(',')) problems.push(`Secret ${name}: the generator makes keys ${gk}, the template has ${[...keys].sort().join(',')}`);
    for (const path of g.values()) {
      if (!path.startsWith('local/')) problems.push(`Secret ${name}: generator file ${path} is outside local/ (git-ignored)`);
    }
  }
  for (const name of gens.keys()) if (!templates.has(name)) problems.push(`secretGenerator ${name} has no entry in secrets.template.yaml`);
  if (!/^local\/?$/m.test(set.gitignore)) problems.push('deploy/k8s/.gitignore does not ignore local/, where the seeds are');
  if (at(set.kustomization, 'generatorOptions', 'disableNameSuffixHash') !== true) problems.push('kustomization.yaml: generatorOptions.disableNameSuffixHash must be true: the Helm values refer to the Secrets by fixed name');
  return problems;
}

/** No document anywhere holds something that looks like a real credential. */
export function checkNoPlaintextSecrets(set: DeploySet): string[] {
  const problems: string[] = [];
  const texts: Array<[string, string]> = [
    ...[...set.resources, ...set.secretTemplates].map((o) => [o.file, JSON.stringify(o.doc)] as [string, string]),
    ['nats-values.yaml', JSON.stringify(set.helmValues)],
    ['kustomization.yaml', JSON.stringify(set.kustomization)],
  ];
  for (const [file, text] of texts) for (const re of SECRET_LIKE) if (re.test(text)) problems.push(`${file}: holds what looks like a real credential (${re.source})`);
  return problems;
}

function imageProblems(where: string, image: string | undefined): string[] {
  if (!image) return [`${where}: no image`];
  const tag = /:([^/:@]+)$/.exec(image)?.[1];
  if (!tag && !image.includes('@sha256:')) return [`${where}: image ${image} has no tag`];
  if (tag === 'latest') return [`${where}: image ${image} uses :latest`];
  return [];
}

/** The Helm values: keys the chart has, the cluster and JetStream settings, the accounts Secret wiring. */
export function checkHelmValues(set: DeploySet): string[] {
  const problems: string[] = [];
  const walk = (v: Rec, path: string) => {
    for (const [k, child] of Object.entries(v)) {
      const p = path ? `${path}.${k}` : k;
      if (!CHART_VALUE_KEYS.has(p)) { problems.push(`nats-values.yaml: ${p} is not a key of the nats chart's values`); continue; }
      if (!FREE_FORM.has(k) && isRec(child)) walk(child, p);
    }
  };
  const v = set.helmValues;
  walk(v, '');
  if (at(v, 'config', 'cluster', 'enabled') !== true || at(v, 'config', 'cluster', 'replicas') !== 3) problems.push('nats-values.yaml: config.cluster must be enabled with replicas: 3');
  if (at(v, 'config', 'jetstream', 'enabled') !== true || at(v, 'config', 'jetstream', 'fileStore', 'enabled') !== true || at(v, 'config', 'jetstream', 'fileStore', 'pvc', 'enabled') !== true) problems.push('nats-values.yaml: JetStream must be enabled with a file store on a PVC');
  for (const img of ['container', 'reloader']) {
    const repo = str(at(v, img, 'image', 'repository'));
    const tag = str(at(v, img, 'image', 'tag'));
    problems.push(...imageProblems(`nats-values.yaml ${img}.image`, repo && tag ? `${repo}:${tag}` : undefined));
  }
  // The accounts Secret: pod volume -> container mount -> include path -> a key of the Secret.
  const volumes = list(at(v, 'podTemplate', 'patch')).filter((p) => at(p, 'path') === '/spec/volumes/-').map((p) => rec(at(p, 'value')));
  const mounts = list(at(v, 'container', 'patch')).filter((p) => at(p, 'path') === '/volumeMounts/-').map((p) => rec(at(p, 'value')));
  const secrets = secretKeys(set);
  const include = str(at(v, 'config', 'merge', '$include'));
  if (!include) problems.push('nats-values.yaml: config.merge has no $include of the accounts file: the server would accept anonymous clients');
  for (const m of mounts) {
    const vol = volumes.find((x) => x['name'] === m['name']);
    if (!vol) { problems.push(`nats-values.yaml: container mount ${String(m['name'])} has no pod volume of that name`); continue; }
    const secretName = str(at(vol, 'secret', 'secretName'));
    if (!secretName || !secrets.has(secretName)) { problems.push(`nats-values.yaml: volume ${String(vol['name'])} refers to Secret ${String(secretName)}, which no manifest defines`); continue; }
    if (include) {
      // The chart writes the config to /etc/nats-config/nats.conf; includes are relative to it.
      const resolved = new URL(include, 'file:///etc/nats-config/nats.conf').pathname;
      const dir = String(m['mountPath']).replace(/\/$/, '');
      if (!resolved.startsWith(dir + '/')) problems.push(`nats-values.yaml: $include ${include} (${resolved}) is not under the accounts mount ${dir}`);
      else if (!secrets.get(secretName)!.has(resolved.slice(dir.length + 1))) problems.push(`nats-values.yaml: $include ${include} names ${resolved.slice(dir.length + 1)}, which Secret ${secretName} does not hold`);
    }
  }
  if (mounts.length === 0 && include) problems.push('nats-values.yaml: the accounts file is included but no Secret is mounted');
  return problems;
}

/** The chart's Service: name and client port as the CACO Deployments must address it. */
export function natsServiceOf(values: Rec): { host: string; port: number } {
  const host = str(at(values, 'service', 'name')) ?? str(values['fullnameOverride']) ?? `${HELM_RELEASE}`;
  const port = at(values, 'config', 'nats', 'port');
  return { host, port: typeof port === 'number' ? port : 4222 };
}

function dockerfileFacts(dockerfile: string): { entrypoint?: string[]; cmd?: string[]; expose: number[]; user?: string } {
  const lines = dockerfile.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const json = (instr: string): string[] | undefined => {
    const l = lines.filter((x) => x.toUpperCase().startsWith(instr + ' ')).pop();
    if (!l) return undefined;
    try { return JSON.parse(l.slice(instr.length + 1)) as string[]; } catch { return undefined; }
  };
  const expose = lines.filter((x) => x.toUpperCase().startsWith('EXPOSE ')).flatMap((x) => x.slice(7).trim().split(/\s+/)).map((p) => Number(p.split('/')[0]));
  const user = lines.filter((x) => x.toUpperCase().startsWith('USER ')).pop()?.slice(5).trim();
  const entrypoint = json('ENTRYPOINT');
  const cmd = json('CMD');
  return { ...(entrypoint ? { entrypoint } : {}), ...(cmd ? { cmd } : {}), expose, ...(user ? { user } : {}) };
}

/** Each site's Deployment: refs, ports, probes, flags, image, resources; and the Dockerfile that builds its image. */
export function checkDeployments(set: DeploySet, fileExists: (repoPath: string) => boolean): string[] {
  const problems: string[] = [];
  const secrets = secretKeys(set);
  const configMaps = configMapKeys(set);
  const claims = new Set(set.resources.filter((o) => o.doc['kind'] === 'PersistentVolumeClaim').map((o) => nameOf(o)));
  const nats = natsServiceOf(set.helmValues);
  const docker = dockerfileFacts(set.dockerfile);
  const sites = new Map<string, string>();
  const kImages = list(set.kustomization['images']).map(rec);
  const deployments = objectsOf(set, 'Deployment');
  if (deployments.length < 2) problems.push(`expected a Deployment per site (at least two), found ${deployments.length}`);
  if (!docker.entrypoint) problems.push('Dockerfile: no ENTRYPOINT in exec (JSON) form');
  else if (!docker.entrypoint.some((a) => a.endsWith('.ts') && fileExists(a))) problems.push(`Dockerfile: ENTRYPOINT ${docker.entrypoint.join(' ')} runs no file of the repository`);
  if (!docker.user || docker.user === 'root' || docker.user === '0') problems.push('Dockerfile: the image must switch to a non-root USER');
  const dockerPort = flagsOf(docker.cmd ?? []).get('--http-port');
  if (dockerPort === undefined || !docker.expose.includes(Number(dockerPort))) problems.push(`Dockerfile: CMD's --http-port ${String(dockerPort)} is not EXPOSEd (${docker.expose.join(', ')})`);

  for (const d of deployments) {
    const dn = `Deployment ${nameOf(d)}`;
    const spec = rec(d.doc['spec']);
    const pod = rec(at(spec, 'template', 'spec'));
    const podLabels = at(spec, 'template', 'metadata', 'labels');
    if (!labelsMatch(at(spec, 'selector', 'matchLabels'), podLabels)) problems.push(`${dn}: selector.matchLabels do not match the pod template's labels`);
    if (spec['replicas'] !== 1) problems.push(`${dn}: replicas must be 1 (one process per site decides on its ledger)`);
    if (at(spec, 'strategy', 'type') !== 'Recreate') problems.push(`${dn}: strategy must be Recreate, so an old and a new pod never run the same site at once`);
    const volumes = new Map(list(pod['volumes']).map((v) => [str(at(v, 'name')) ?? '', rec(v)] as const));
    for (const [vn, vol] of volumes) {
      const sn = str(at(vol, 'secret', 'secretName'));
      if (at(vol, 'secret') !== undefined && (!sn || !secrets.has(sn))) problems.push(`${dn}: volume ${vn} refers to Secret ${String(sn)}, which no manifest defines`);
      const cn = str(at(vol, 'configMap', 'name'));
      if (at(vol, 'configMap') !== undefined && (!cn || !configMaps.has(cn))) problems.push(`${dn}: volume ${vn} refers to ConfigMap ${String(cn)}, which no manifest defines`);
      const mode = at(vol, 'secret', 'defaultMode');
      if (sn && typeof mode === 'number' && (mode & 0o004) !== 0) problems.push(`${dn}: volume ${vn} makes the seed readable by every user (defaultMode ${mode.toString(8)}); CACO refuses such a file`);
    }
    const containers = list(pod['containers']).map(rec);
    if (containers.length === 0) problems.push(`${dn}: no containers`);
    for (const c of containers) {
      const cn = `${dn} container ${String(c['name'])}`;
      const image = str(c['image']);
      problems.push(...imageProblems(cn, image));
      const imageName = image?.replace(/[:@].*$/, '');
      const tag = image ? /:([^/:@]+)$/.exec(image)?.[1] : undefined;
      if (tag !== undefined && tag !== set.version) problems.push(`${cn}: image tag ${tag} is not package.json's version ${set.version}`);
      const ki = kImages.find((i) => i['name'] === imageName);
      if (!ki) problems.push(`${cn}: kustomization.yaml's images does not say where ${String(imageName)} is pushed`);
      else if (ki['newTag'] !== undefined && (ki['newTag'] === 'latest' || ki['newTag'] !== set.version)) problems.push(`${cn}: kustomization.yaml retags ${String(imageName)} as ${String(ki['newTag'])}, not ${set.version}`);
      for (const kind of ['requests', 'limits'] as const) {
        for (const r of ['cpu', 'memory']) if (at(c, 'resources', kind, r) === undefined) problems.push(`${cn}: resources.${kind}.${r} is missing`);
      }
      if (c['command'] !== undefined && JSON.stringify(c['command']) !== JSON.stringify(docker.entrypoint)) problems.push(`${cn}: command overrides the image's ENTRYPOINT`);
      // References from the environment.
      for (const e of list(c['envFrom'])) {
        const cm = str(at(e, 'configMapRef', 'name'));
        if (at(e, 'configMapRef') !== undefined && (!cm || !configMaps.has(cm))) problems.push(`${cn}: envFrom ConfigMap ${String(cm)} is not defined`);
        const s = str(at(e, 'secretRef', 'name'));
        if (at(e, 'secretRef') !== undefined && (!s || !secrets.has(s))) problems.push(`${cn}: envFrom Secret ${String(s)} is not defined`);
      }
      for (const e of list(c['env'])) {
        const sk = rec(at(e, 'valueFrom', 'secretKeyRef'));
        if (Object.keys(sk).length && !secrets.get(String(sk['name']))?.has(String(sk['key']))) problems.push(`${cn}: env ${String(at(e, 'name'))} refers to Secret ${String(sk['name'])} key ${String(sk['key'])}, which is not defined`);
        const ck = rec(at(e, 'valueFrom', 'configMapKeyRef'));
        if (Object.keys(ck).length && !configMaps.get(String(ck['name']))?.has(String(ck['key']))) problems.push(`${cn}: env ${String(at(e, 'name'))} refers to ConfigMap ${String(ck['name'])} key ${String(ck['key'])}, which is not defined`);
      }
      const mounts = list(c['volumeMounts']).map(rec);
      for (const m of mounts) if (!volumes.has(String(m['name']))) problems.push(`${cn}: volumeMount ${String(m['name'])} has no volume of that name`);
      // Ports and probes.
      const ports = list(c['ports']).map(rec);
      const portOk = (p: unknown) => ports.some((x) => x['name'] === p || x['containerPort'] === p);
      for (const probe of ['livenessProbe', 'readinessProbe', 'startupProbe']) {
        const pr = c[probe];
        if (pr === undefined) { if (probe !== 'startupProbe') problems.push(`${cn}: no ${probe}`); continue; }
        const port = at(pr, 'httpGet', 'port');
        if (!portOk(port)) problems.push(`${cn}: ${probe} port ${String(port)} is not a port of the container`);
        if (at(pr, 'httpGet', 'path') !== '/health') problems.push(`${cn}: ${probe} does not ask GET /health`);
      }
      // The command line: `caco run` on the cluster.
      const args = list(c['args']).map((a) => String(a));
      const f = flagsOf(args);
      for (const a of args) if (a.startsWith('--') && !set.runFlags.has(a)) problems.push(`${cn}: caco run has no option ${a}`);
      if (args[0] !== 'run') problems.push(`${cn}: args must start with the command "run", got ${String(args[0])}`);
      const want: Record<string, string> = { '--bus': 'nats', '--store': 'jetstream', '--replicas': '3', '--http-host': '0.0.0.0' };
      for (const [k, val] of Object.entries(want)) if (f.get(k) !== val) problems.push(`${cn}: ${k} must be ${val}, is ${String(f.get(k))}`);
      const site = f.get('--site');
      if (!site) problems.push(`${cn}: no --site`);
      else {
        if (sites.has(site)) problems.push(`${cn}: --site ${site} is also run by ${sites.get(site)}: two processes would write one ledger`);
        sites.set(site, dn);
        if (rec(podLabels)['caco.site'] !== site) problems.push(`${cn}: --site ${site} but the pod label caco.site is ${String(rec(podLabels)['caco.site'])}`);
        if (nameOf(d) !== `caco-${site}`) problems.push(`${dn}: runs site ${site}; name it caco-${site}`);
      }
      const url = f.get('--nats-url');
      try {
        const u = new URL(url ?? '');
        if (u.protocol !== 'nats:' || u.hostname !== nats.host || Number(u.port || 4222) !== nats.port) problems.push(`${cn}: --nats-url ${url} is not the NATS service nats://${nats.host}:${nats.port} of nats-values.yaml`);
      } catch {
        problems.push(`${cn}: --nats-url ${String(url)} is not a URL`);
      }
      const httpPort = Number(f.get('--http-port'));
      const http = ports.find((p) => p['containerPort'] === httpPort);
      if (!http) problems.push(`${cn}: --http-port ${String(f.get('--http-port'))} is not a container port`);
      if (!docker.expose.includes(httpPort)) problems.push(`${cn}: --http-port ${httpPort} is not EXPOSEd by the Dockerfile (${docker.expose.join(', ')})`);
      // The data folder holds the site's signing keys, its BPP key and allowed BAPs: on an
      // emptyDir every restart made new keys, every earlier event stopped verifying and the
      // key registry was ignored, with /health still ok (a helper's review).
      const dataDir = f.get('--data-dir');
      const dataMount = dataDir ? mounts.find((m) => String(m['mountPath']).replace(/\/$/, '') === dataDir.replace(/\/$/, '')) : undefined;
      const claim = dataMount ? str(at(volumes.get(String(dataMount['name'])), 'persistentVolumeClaim', 'claimName')) : undefined;
      if (!dataDir) problems.push(`${cn}: no --data-dir`);
      else if (!dataMount) problems.push(`${cn}: --data-dir ${dataDir} is not a mounted volume`);
      else if (!claim) problems.push(`${cn}: --data-dir ${dataDir} is not on a PersistentVolumeClaim: it holds the site's keys, and a new pod would sign with new ones`);
      else if (!claims.has(claim)) problems.push(`${cn}: --data-dir ${dataDir} is on PersistentVolumeClaim ${claim}, which no manifest defines`);
      else if (at(pod, 'securityContext', 'fsGroup') !== undefined && at(pod, 'securityContext', 'fsGroupChangePolicy') !== 'OnRootMismatch') {
        // A helper's review: by default the kubelet ORs group rw into every file of the volume
        // at each mount, and CACO refuses a private key file others may read (mode 660).
        problems.push(`${cn}: fsGroup on a PersistentVolumeClaim needs fsGroupChangePolicy: OnRootMismatch, or each mount makes the kept private keys group-writable and CACO refuses them`);
      }
      // Credentials: a file in a mounted Secret, the seed of this site's user.
      const creds = f.get('--creds');
      const mount = creds ? mounts.find((m) => creds.startsWith(String(m['mountPath']).replace(/\/$/, '') + '/')) : undefined;
      const secretName = mount ? str(at(volumes.get(String(mount['name'])), 'secret', 'secretName')) : undefined;
      if (!creds) problems.push(`${cn}: no --creds: the secured cluster refuses anonymous clients`);
      else if (!mount || !secretName) problems.push(`${cn}: --creds ${creds} is not in a mounted Secret`);
      else {
        const key = creds.slice(String(mount['mountPath']).replace(/\/$/, '').length + 1);
        if (!secrets.get(secretName)?.has(key)) problems.push(`${cn}: --creds ${creds}: Secret ${secretName} has no key ${key}`);
        const gen = list(set.kustomization['secretGenerator']).find((g) => at(g, 'name') === secretName);
        const file = gen ? generatorFiles(gen).get(key) : undefined;
        if (site && file !== `local/${set.siteUserOf(site)}.nk`) problems.push(`${cn}: Secret ${secretName} is made from ${String(file)}, not the seed of user ${site ? set.siteUserOf(site) : '?'} that caco nats creds writes`);
      }
    }
  }
  return problems;
}

/** Services select a Deployment's pods and target one of its ports. */
export function checkServices(set: DeploySet): string[] {
  const problems: string[] = [];
  const deployments = objectsOf(set, 'Deployment');
  for (const s of objectsOf(set, 'Service')) {
    const sn = `Service ${nameOf(s)}`;
    const selector = at(s.doc, 'spec', 'selector');
    const targets = deployments.filter((d) => labelsMatch(selector, at(d.doc, 'spec', 'template', 'metadata', 'labels')));
    if (targets.length !== 1) { problems.push(`${sn}: its selector matches ${targets.length} Deployments' pods, not exactly one`); continue; }
    const ports = list(at(targets[0]!.doc, 'spec', 'template', 'spec', 'containers')).flatMap((c) => list(at(c, 'ports')).map(rec));
    for (const p of list(at(s.doc, 'spec', 'ports')).map(rec)) {
      const t = p['targetPort'] ?? p['port'];
      if (!ports.some((x) => x['name'] === t || x['containerPort'] === t)) problems.push(`${sn}: targetPort ${String(t)} is not a port of ${nameOf(targets[0]!)}'s container`);
    }
  }
  return problems;
}

/** The NetworkPolicy selects the chart's NATS pods, lets the CACO pods in on the client port. */
export function checkNetworkPolicy(set: DeploySet): string[] {
  const problems: string[] = [];
  const natsLabels = { 'app.kubernetes.io/name': str(set.helmValues['nameOverride']) ?? 'nats', 'app.kubernetes.io/instance': HELM_RELEASE, 'app.kubernetes.io/component': 'nats' };
  const clientPort = natsServiceOf(set.helmValues).port;
  const routePort = at(set.helmValues, 'config', 'cluster', 'port') ?? 6222;
  const cacoPods = objectsOf(set, 'Deployment').map((d) => at(d.doc, 'spec', 'template', 'metadata', 'labels'));
  for (const np of objectsOf(set, 'NetworkPolicy')) {
    const n = `NetworkPolicy ${nameOf(np)}`;
    if (!labelsMatch(at(np.doc, 'spec', 'podSelector', 'matchLabels'), natsLabels)) problems.push(`${n}: podSelector does not select the chart's NATS pods (${JSON.stringify(natsLabels)})`);
    const rules = list(at(np.doc, 'spec', 'ingress')).map(rec);
    const clientRule = rules.find((r) => list(r['ports']).some((p) => at(p, 'port') === clientPort));
    if (!clientRule) problems.push(`${n}: no rule opens the client port ${clientPort}`);
    else {
      const froms = list(clientRule['from']).map((f) => at(f, 'podSelector', 'matchLabels'));
      for (const labels of cacoPods) if (!froms.some((sel) => labelsMatch(sel, labels))) problems.push(`${n}: the client port is closed to the CACO pods labelled ${JSON.stringify(labels)}`);
    }
    if (!rules.some((r) => list(r['ports']).some((p) => at(p, 'port') === routePort))) problems.push(`${n}: no rule opens the route port ${String(routePort)}: the nodes could not form a cluster`);
  }
  return problems;
}

export function checkAll(set: DeploySet, fileExists: (repoPath: string) => boolean): string[] {
  return [...checkInventory(set), ...checkSecrets(set), ...checkNoPlaintextSecrets(set), ...checkHelmValues(set), ...checkDeployments(set, fileExists), ...checkServices(set), ...checkNetworkPolicy(set)];
}
