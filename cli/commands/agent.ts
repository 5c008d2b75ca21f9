import { Command } from 'commander';
import { UsageError } from '../errors.ts';
import { wholeNumber } from '../flag-values.ts';

/** `caco agent check`: a conformance run of an outside agent against a scratch site (docs/external-agent.md). */
export function agentCommand(): Command {
  const agent = new Command('agent').description('outside agents (docs/external-agent.md)');
  agent
    .command('check')
    .description('run an outside agent against a scratch site and report, point by point, what it did wrong (unsigned, unknown key, schema, wrong subject, no dedupe) and right; exit 1 on any failure')
    .argument('<name|subject-prefix>', "the agent's name (its party), or a subject prefix caco.<site> (then give --name)")
    .argument('[command...]', 'the agent to run (after --), with {url} {site} {key} {name} replaced; also in NATS_URL, CACO_SITE, CACO_AGENT_KEY, CACO_AGENT_NAME. Without it, start your agent yourself against --server')
    .option('--name <name>', 'the agent name when a subject prefix is given')
    .option('--server <url>', 'a NATS server for the scratch site (default: a scratch nats-server on a free port)')
    .option('--site <name>', 'the scratch site name', 'check')
    .option('--timeout <seconds>', 'how long to watch the agent', '30')
    .option('--public-key <base64>', "register this public key for the agent instead of making a key file")
    .option('--key-id <id>', 'the key id to register')
    .action(async (target: string, command: string[], o: { name?: string; server?: string; site: string; timeout: string; publicKey?: string; keyId?: string }) => {
      const seconds = wholeNumber('--timeout', o.timeout, 1, 3600, 'seconds');
      if (!command.length && !o.server) throw new UsageError('give the agent to run after --, or --server <url> of a NATS server your agent connects to');
      const { runAgentCheck } = await import('../agent-check/run.ts');
      const { renderReport } = await import('../agent-check/judge.ts');
      const r = await runAgentCheck({ target, timeoutMs: seconds * 1000, site: o.site, ...(o.name ? { name: o.name } : {}), ...(o.server ? { server: o.server } : {}), ...(o.publicKey ? { publicKey: o.publicKey } : {}), ...(o.keyId ? { keyId: o.keyId } : {}), command, say: (l) => console.error(l) });
      console.log(renderReport(r.observations, r.report));
      process.exitCode = r.report.ok ? 0 : 1;
    });
  return agent;
}
