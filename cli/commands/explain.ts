import { verifiedView } from '../../core/store/index.ts';
import { createLogger } from '../../core/log/index.ts';
import { Command } from 'commander';
import { openStack } from '../../core/stack/index.ts';
import { addGlobalOptions, configFrom, type GlobalOptions } from '../options.ts';
import { explainJob } from '../../projections/explain/index.ts';
import { UsageError } from '../errors.ts';
import { inert } from '../terminal.ts';

export function explainCommand(): Command {
  const cmd = new Command('explain')
    .description('why a job ran when it did: the forecast it was planned on, the cost of running at arrival instead, the flexibility that moved it, with ledger event ids')
    .argument('<job-id>', 'the job id')
    .option('--ledger <file>', 'SQLite ledger file (e.g. out/<run>/ledger.db); default <data-dir>/<site>/ledger.db')
    .option('--json', 'print as JSON');
  addGlobalOptions(cmd);
  return cmd.action(async (jobId: string, o: GlobalOptions & { ledger?: string; json?: boolean }) => {
    const config = configFrom(o);
    const stack = await openStack(config, { mustExist: true, ...(o.ledger ? { sqlitePath: o.ledger } : {}) });
    try {
      const x = await explainJob(verifiedView(stack.store, stack.keyring, createLogger({ level: config.logLevel })), jobId, { scan: true });
      if (!x.found) throw new UsageError(`${x.summary}; check the id (caco audit replay lists what the ledger holds) and --ledger/--data-dir`);
      if (o.json) {
        console.log(JSON.stringify(x, null, 2));
        return;
      }
      // What submitters and buyers wrote (a pin's operator and reason, …) is printed inert.
      console.log(inert(x.summary));
      for (const s of x.steps) console.log(`\n${inert(s.at.replace('T', ' ').slice(0, 16))}Z  ${inert(s.text)}\n    ledger: ${inert(s.type)} ${inert(s.stream)}#${s.revision} event ${inert(s.eventId)}`);
    } finally {
      await stack.close();
    }
  });
}
