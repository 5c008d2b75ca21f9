import { Command, Option } from 'commander';
import { existsSync } from 'node:fs';
import { addGlobalOptions, configFrom, type GlobalOptions } from '../options.ts';
import { UsageError } from '../errors.ts';
import { inert } from '../terminal.ts';
import { positiveNumber, wholeNumber } from '../flag-values.ts';
import { NatsBus } from '../../core/bus/index.ts';
import { subjects } from '../../core/runtime/index.ts';
import { SystemClock } from './system-clock.ts';
import { join } from 'node:path';
import { siteDir } from '../../core/stack/index.ts';
import { FileKeyring, rawPublicKey } from '../../core/ledger/index.ts';
import { DEFAULT_COMMAND_LIFETIME_MS, readKeyFile, signWithKey, type LoadedKey } from '../../core/identity/index.ts';
import { redactNatsServers, type CacoConfig } from '../../core/config/index.ts';
import { decodeWith, JobPlanned, JobRejected } from '../../schemas/index.ts';
import { readBoundedText } from '../../core/files/index.ts';

/** A job is a few hundred bytes; a command is refused past a few KB anyway. */
const MAX_JOB_FILE_BYTES = 1024 * 1024;
/** Longer than this the command has expired anyway (DEFAULT_COMMAND_LIFETIME_MS). */
const MAX_TIMEOUT_MS = DEFAULT_COMMAND_LIFETIME_MS;

/**
 * The key `caco submit` signs with: `--key`, else the site's own operator key when this
 * machine runs the site (made and registered by `caco run` on its first start).
 */
function signingKey(keyFile: string | undefined, config: CacoConfig): LoadedKey {
  if (keyFile) return readKeyFile(keyFile);
  const dir = join(siteDir(config), 'keys');
  if (!existsSync(join(dir, 'private', 'operator.key'))) {
    throw new UsageError(`--key is required: commands must be signed by a registered key, and ${dir} holds no operator key; make one with \`caco keys new --party <you> --out me.key\` and have the site register its public half in the registry the site reads (\`caco keys add --key-id … --party <you> --public-key <base64> --store jetstream --nats-url <url>\` for a \`caco run\` site: docs/identity.md)`);
  }
  const privateKey = new FileKeyring(dir).signingKey('operator');
  return { keyId: 'operator', party: 'operator', role: 'operator', publicKey: rawPublicKey(privateKey).toString('base64'), privateKey };
}

interface SubmitFlags extends GlobalOptions {
  file?: string;
  jobId?: string;
  class?: string;
  powerKw?: string;
  gpus?: string;
  runtimeMin?: string;
  earliest?: string;
  deadline?: string;
  sla?: string;
  preemptible?: boolean;
  timeout: string;
  key?: string;
}

/** Submit a job to a running site (`caco run`) over NATS: a `compute.job.submit` request. */
export function submitCommand(): Command {
  const cmd = new Command('submit')
    .description('submit a job to a running site (caco run) over NATS and print what the compute agent decided')
    .option('--file <json>', 'the job as JSON (the compute.job.submit schema: schemas/json/compute.job.submit.v1.json)')
    .option('--job-id <id>', 'job id')
    .addOption(new Option('--class <class>', 'job class').choices(['training', 'batch-inference', 'serving']))
    .option('--power-kw <kw>', 'IT power while running')
    .option('--gpus <n>', 'GPU count (instead of --power-kw)')
    .option('--runtime-min <min>', 'runtime in minutes')
    .option('--earliest <iso>', 'earliest start, ISO 8601 UTC (default now)')
    .option('--deadline <iso>', 'deadline, ISO 8601 UTC')
    .addOption(new Option('--sla <class>', 'SLA class').choices(['gold', 'silver', 'bronze']).default('silver'))
    .option('--preemptible', 'the job can be checkpointed and resumed')
    .option('--timeout <ms>', 'how long to wait for the answer', '10000')
    .option('--key <file>', "key file to sign with (from `caco keys new`, registered by the site); default: the site's operator key in --data-dir");
  addGlobalOptions(cmd, { bus: 'nats' });
  return cmd.action(async (o: SubmitFlags) => {
    const config = configFrom(o, { bus: 'nats' });
    // Every flag is checked before anything is read or sent.
    const timeoutMs = wholeNumber('--timeout', o.timeout, 1, MAX_TIMEOUT_MS, 'milliseconds');
    let job: Record<string, unknown>;
    if (o.file) {
      if (!existsSync(o.file)) throw new UsageError(`--file: ${o.file} does not exist`);
      try {
        job = JSON.parse(readBoundedText(o.file, MAX_JOB_FILE_BYTES, (reason) => new UsageError(`--file: ${o.file} ${reason}`))) as Record<string, unknown>;
      } catch (err) {
        if (err instanceof UsageError) throw err;
        throw new UsageError(`--file ${o.file}: not valid JSON (${(err as Error).message})`);
      }
    } else {
      for (const [flag, v] of [['--job-id', o.jobId], ['--class', o.class], ['--runtime-min', o.runtimeMin], ['--deadline', o.deadline]] as const) {
        if (!v) throw new UsageError(`${flag} is required (or give the whole job with --file)`);
      }
      if (!o.powerKw && !o.gpus) throw new UsageError('give --power-kw or --gpus');
      job = {
        jobId: o.jobId,
        class: o.class,
        ...(o.powerKw ? { powerKw: positiveNumber('--power-kw', o.powerKw) } : {}),
        ...(o.gpus ? { gpuCount: wholeNumber('--gpus', o.gpus, 1, 1_000_000) } : {}),
        runtimeMin: positiveNumber('--runtime-min', o.runtimeMin ?? ''),
        earliestStart: o.earliest ?? new Date(SystemClock.now()).toISOString(),
        deadline: o.deadline,
        slaClass: o.sla,
        preemptible: Boolean(o.preemptible),
      };
    }
    if (config.bus !== 'nats') throw new UsageError('--bus memory cannot reach another process; submit over NATS (the default) to a running `caco run`');
    const key = signingKey(o.key, config);
    const bus = await NatsBus.connect({ servers: config.natsUrl, name: 'caco-submit', ...(config.natsCreds ? { credentials: config.natsCreds } : {}) });
    try {
      const nowMs = SystemClock.now();
      const now = new Date(nowMs).toISOString();
      // Bound to the site it is for and to the next few minutes: a copy taken off the wire
      // cannot be replayed at another site or delivered late (docs/identity.md).
      const expiresAt = new Date(nowMs + DEFAULT_COMMAND_LIFETIME_MS).toISOString();
      const id = `cli-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
      const cmdMsg = signWithKey({ id, type: 'compute.job.submit', version: 1, time: now, source: key.party, correlationId: id, causationId: null, site: config.site, expiresAt, data: job }, key);
      let res;
      try {
        res = await bus.request(subjects.command(config.site, 'compute', 'submit'), Buffer.from(JSON.stringify(cmdMsg)), { timeoutMs });
      } catch (err) {
        throw new UsageError(`no answer from site "${config.site}" on ${redactNatsServers(config.natsUrl)} (${(err as Error).message}); is \`caco run\` running there?`);
      }
      const reply = readSubmitReply(res.data);
      if (!reply.ok) {
        const p = reply.problems.map((x) => `${x.path}: ${x.reason}`).join('; ');
        throw new UsageError(`refused: ${reply.reason}${p ? ` (${p})` : ''}`);
      }
      for (const e of reply.events) {
        console.log(inert(`${e.type}  ${e.stream}  event ${e.id}`));
        // The reply is JSON from another process: payloads are read through their schemas.
        if (e.type === JobRejected.type) {
          const d = decodeWith(JobRejected.data, e.data);
          if (d.ok) for (const p of d.value.problems) console.log(inert(`  ${p.field}: ${p.reason}`));
          process.exitCode = 2;
        } else if (e.type === JobPlanned.type) {
          const d = decodeWith(JobPlanned.data, e.data);
          if (d.ok) console.log(`  planned ${d.value.plannedStart} to ${d.value.plannedEnd}: £${d.value.expected.costGbp}, ${d.value.expected.carbonKg} kgCO2 (at once: £${d.value.runNow.costGbp}, ${d.value.runNow.carbonKg} kgCO2)`);
        }
      }
    } finally {
      await bus.close();
    }
  });
}

type SubmitReply =
  | { readonly ok: true; readonly events: ReadonlyArray<{ readonly type: string; readonly id: string; readonly stream: string; readonly data: unknown }> }
  | { readonly ok: false; readonly reason: string; readonly problems: ReadonlyArray<{ readonly path: string; readonly reason: string }> };

/**
 * The site's answer, read as what it may be and nothing else: whatever answers on the subject
 * chose its bytes. Not JSON, `null`, or `{"ok":true,"events":"x"}` threw a stack trace or printed
 * "undefined … event undefined" as a success. Anything else is a UsageError saying so.
 */
export function readSubmitReply(data: Uint8Array): SubmitReply {
  const bad = (why: string) => new UsageError(`the answer on the submit subject is not a site's reply (${why}); is something else listening there?`);
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(data).toString('utf8'));
  } catch {
    throw bad(`not JSON, ${data.byteLength} bytes`);
  }
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isObject(raw) || typeof raw['ok'] !== 'boolean') throw bad('no "ok"');
  if (raw['ok'] === false) {
    const error = raw['error'];
    if (!isObject(error) || typeof error['reason'] !== 'string') throw bad('a refusal with no "error.reason"');
    const problems = Array.isArray(error['problems']) ? error['problems'].filter((p): p is { path: string; reason: string } => isObject(p) && typeof p['path'] === 'string' && typeof p['reason'] === 'string') : [];
    return { ok: false, reason: error['reason'].slice(0, 2_000), problems: problems.slice(0, 20) };
  }
  const events = raw['events'];
  if (!Array.isArray(events)) throw bad('"events" is not a list');
  const out: Array<{ type: string; id: string; stream: string; data: unknown }> = [];
  for (const e of events) {
    if (!isObject(e) || typeof e['type'] !== 'string' || typeof e['id'] !== 'string' || typeof e['stream'] !== 'string') throw bad('an event without a type, id and stream');
    out.push({ type: e['type'], id: e['id'], stream: e['stream'], data: e['data'] });
  }
  return { ok: true, events: out };
}
