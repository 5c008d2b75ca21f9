#!/usr/bin/env -S node --import tsx
/**
 * `caco`: the command line of the Carbon-Aware Compute Orchestrator.
 * Every command has --help; bad input is one line naming the problem and the fix, exit 2.
 */
import { Command, CommanderError } from 'commander';
import { auditCommand } from './commands/audit.ts';
import { schemaCommand } from './commands/schema.ts';
import { simulateCommand } from './commands/simulate.ts';
import { explainCommand } from './commands/explain.ts';
import { dashboardCommand } from './commands/dashboard.ts';
import { runCommand } from './commands/run.ts';
import { submitCommand } from './commands/submit.ts';
import { bppCommand } from './commands/bpp.ts';
import { keysCommand } from './commands/keys.ts';
import { natsCommand } from './commands/nats.ts';
import { fleetCommand } from './commands/fleet.ts';
import { agentCommand } from './commands/agent.ts';
import { modelsCommand } from './commands/models.ts';
import { reportAndExit } from './errors.ts';

const program = new Command('caco')
  .description('Carbon-Aware Compute Orchestrator: plan AI jobs into clean, cheap half-hours and sell the flexibility')
  .version('0.1.0')
  .showHelpAfterError('(add --help for usage)')
  .exitOverride();

program.addCommand(auditCommand());
program.addCommand(schemaCommand());
program.addCommand(simulateCommand());
program.addCommand(explainCommand());
program.addCommand(dashboardCommand());
program.addCommand(runCommand());
program.addCommand(submitCommand());
program.addCommand(bppCommand());
program.addCommand(keysCommand());
program.addCommand(natsCommand());
program.addCommand(fleetCommand());
program.addCommand(agentCommand());
program.addCommand(modelsCommand());

// Subcommands built with `new Command` do not inherit these; apply them everywhere.
const walk = (c: Command): void => {
  c.exitOverride().showHelpAfterError('(add --help for usage)');
  c.commands.forEach(walk);
};
walk(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // commander has printed its message already; --help and --version exit 0.
    process.exit(err.exitCode === 0 ? 0 : 2);
  }
  reportAndExit(err);
}
