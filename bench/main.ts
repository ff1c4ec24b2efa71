#!/usr/bin/env node
/** The benchmark harness's entry point: `npm run bench -- [options]` or `node dist/bench/main.js [options]`. */
import { benchCommand } from './cli.js';

const argv = process.argv.slice(2);
if (argv.includes('--help') || argv.includes('-h')) {
  process.stdout.write(benchCommand.help.trimEnd() + '\n');
} else {
  benchCommand.run(argv).then(
    (code) => (process.exitCode = code),
    (err: unknown) => {
      process.stderr.write(`streamlens bench: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
