/** `streamlens jobs`: the analysis jobs in a queue, with state, progress and errors. */
import { parseArgs } from 'node:util';
import { runCommand, UsageError, type Command } from './command.js';
import { JobQueue, type JobSummary } from '../cluster/jobQueue.js';

const help = `Usage: streamlens jobs --queue <redis-url> [--json]

Lists the analysis jobs of the queue (\`analyze --queue\`), newest first: id, state (waiting,
active, delayed = waiting to be retried, completed, failed), frames done, attempts that ended,
the input and the error of a failed job. The same list is GET /api/jobs on a cluster node.

Options:
  --queue <url>   the Redis of the queue (redis://host:port[/db])
  --json          one JSON document {"jobs": [...]} instead of the table
  -h, --help      this help`;

function progressText(j: JobSummary): string {
  if (!j.progress) return '-';
  return j.progress.total ? `${j.progress.done}/${j.progress.total}` : String(j.progress.done);
}

export function jobsTable(jobs: JobSummary[]): string {
  const rows = [['ID', 'STATE', 'FRAMES', 'ATTEMPTS', 'INPUT', 'ERROR'], ...jobs.map((j) => [j.id, j.state, progressText(j), String(j.attempts), j.input, j.error ?? ''])];
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]))).join('  ').trimEnd()).join('\n') + '\n';
}

function run(argv: string[]): Promise<number> {
  return runCommand('jobs', async () => {
    const { values } = parseArgs({ args: argv, options: { queue: { type: 'string' }, json: { type: 'boolean' } } });
    if (!values.queue || !/^rediss?:\/\/[^/\s]/.test(values.queue)) throw new UsageError('--queue <redis://host:port> is required');
    const queue = new JobQueue(values.queue, { command: true });
    try {
      const jobs = await queue.list();
      process.stdout.write(values.json ? JSON.stringify({ jobs }) + '\n' : jobsTable(jobs));
      return 0;
    } finally {
      await queue.close();
    }
  });
}

export const command: Command = { summary: 'list queued analysis jobs with state, progress and errors', help, run };
