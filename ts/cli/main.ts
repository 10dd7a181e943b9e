#!/usr/bin/env node
/**
 * `omnitide <command>` and `omnitide <system> <verb>`. Human output by
 * default, `--json` for scripts, one-line reason and non-zero exit on failure.
 */
import { OmniError } from '../errors.js';
import { type Command, type CommandGroup, UsageError } from './command.js';
import { attestCommands } from './attest.js';
import { cryptoCommands } from './crypto.js';
import { ledgerCommands } from './ledger.js';
import { symbolicCommands } from './symbolic.js';
import { schedulerCommands } from './scheduler.js';
import { kernelCommands, kernelGroups } from './kernel.js';
import { autoblockCommands } from './autoblock.js';
import { learnCommands } from './learn.js';
import { contractsCommands } from './contracts.js';
import { latticeCommands } from './lattice.js';
import { chaosCommands } from './chaos.js';
import { pipelineCommands } from './pipeline.js';

const topLevel: Record<string, Command> = { ...cryptoCommands, ...kernelCommands };
const groups: Record<string, CommandGroup> = {
  ledger: ledgerCommands,
  attest: attestCommands,
  scheduler: schedulerCommands,
  symbolic: symbolicCommands,
  autoblock: autoblockCommands,
  learn: learnCommands,
  contract: contractsCommands,
  lattice: latticeCommands,
  chaos: chaosCommands,
  pipeline: pipelineCommands,
  ...kernelGroups,
};

function mainHelp(): string {
  const lines = ['usage: omnitide <command> [options]   (omnitide <command> --help for details)', '', 'commands:'];
  for (const [name, c] of Object.entries(topLevel)) lines.push(`  ${name.padEnd(10)} ${c.summary}`);
  for (const [name, g] of Object.entries(groups)) lines.push(`  ${name.padEnd(10)} ${g.summary}`);
  return lines.join('\n');
}

function groupHelp(name: string, g: CommandGroup): string {
  const lines = [`usage: omnitide ${name} <verb> [options]`, '', 'verbs:'];
  for (const [verb, c] of Object.entries(g.commands)) lines.push(`  ${verb.padEnd(10)} ${c.summary}`);
  return lines.join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
    process.stdout.write(mainHelp() + '\n');
    return first === undefined ? 2 : 0;
  }
  if (first === '--version' || first === '-v') {
    const { createRequire } = await import('node:module');
    process.stdout.write(createRequire(__filename)('../../package.json').version + '\n');
    return 0;
  }
  let command = topLevel[first];
  let name = first;
  let args = rest;
  const group = groups[first];
  if (group) {
    const [verb, ...more] = rest;
    if (verb === undefined || verb === '--help' || verb === '-h') {
      process.stdout.write(groupHelp(first, group) + '\n');
      return verb === undefined ? 2 : 0;
    }
    command = group.commands[verb];
    if (!command) throw new UsageError(`unknown verb '${verb}' for '${first}' (try: omnitide ${first} --help)`);
    name = `${first} ${verb}`;
    args = more;
  }
  if (!command) throw new UsageError(`unknown command '${first}' (try: omnitide --help)`);
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(`${command.summary}\n\nusage: ${command.usage}\n`);
    return 0;
  }
  void name;
  return command.run(args);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    const usage = err instanceof UsageError;
    const message = err instanceof OmniError || err instanceof Error ? err.message : String(err);
    process.stderr.write(`omnitide: ${message}\n`);
    if (process.env.OMNITIDE_DEBUG) console.error(err);
    process.exitCode = usage ? 2 : 1;
  },
);
