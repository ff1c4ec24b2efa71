/** `streamlens config schema`: the JSON Schema of the serve config file. */
import { runCommand, UsageError, type Command } from './command.js';
import { configJsonSchema } from '../config/schema.js';

const help = `Usage: streamlens config schema

Prints the JSON Schema of the \`streamlens serve\` config file (every field with its type, bounds,
default and meaning; docs/configuration.md). streams/streamlens.schema.json is this output; a config
names it in "$schema" (e.g. "$schema": "./streamlens.schema.json") so editors complete and check it.

Exit status: 0 done, 2 bad usage.`;

function run(argv: string[]): Promise<number> {
  return runCommand('config', async () => {
    if (argv.length !== 1 || argv[0] !== 'schema') throw new UsageError(`expected 'schema'${argv.length ? `, got '${argv.join(' ')}'` : ''}. See --help.`);
    process.stdout.write(JSON.stringify(configJsonSchema(), null, 2) + '\n');
    return 0;
  });
}

export const command: Command = { summary: 'print the JSON Schema of the serve config file', help, run };
