#!/usr/bin/env node
/** `streamlens <command>`: each command lives in its own module and is loaded on demand. */
import { packageVersion, type Command } from './command.js';

const commands: Record<string, () => Promise<Command>> = {
  serve: async () => (await import('./serve.js')).command,
  analyze: async () => (await import('./analyze.js')).command,
  worker: async () => (await import('./worker.js')).command,
  jobs: async () => (await import('./jobs.js')).command,
  mot: async () => (await import('./mot.js')).command,
  config: async () => (await import('./config.js')).command,
  models: async () => (await import('./models.js')).command,
};

async function usage(): Promise<string> {
  const lines = ['Usage: streamlens <command> [options]', '', 'Commands:'];
  for (const [name, load] of Object.entries(commands)) {
    lines.push(`  ${name.padEnd(9)} ${(await load()).summary}`);
  }
  lines.push('', 'Run `streamlens <command> --help` for the options of a command.');
  return lines.join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write((await usage()) + '\n');
    return 0;
  }
  if (name === '--version' || name === '-v') {
    process.stdout.write(packageVersion() + '\n');
    return 0;
  }
  const load = commands[name];
  if (!load) {
    process.stderr.write(`streamlens: unknown command '${name}'. Commands: ${Object.keys(commands).join(', ')}\n`);
    return 2;
  }
  const command = await load();
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(command.help.trimEnd() + '\n');
    return 0;
  }
  return command.run(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`streamlens: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
