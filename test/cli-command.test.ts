/** What the streamlens subcommands share (src/cli/command.ts): options, usage errors, exit codes. */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { parseArgs, promisify } from 'node:util';
import { describe, expect, it, vi } from 'vitest';
import { choiceListOption, numberOption, runCommand, UsageError } from '../src/cli/command.js';

describe('numberOption', () => {
  it('takes a number in range, the fallback when absent, and names the option and the value otherwise', () => {
    expect(numberOption('conf', '0.5', 0.25, { min: 0, max: 1 })).toBe(0.5);
    expect(numberOption('conf', undefined, 0.25, { min: 0, max: 1 })).toBe(0.25);
    expect(() => numberOption('conf', '2', 0.25, { min: 0, max: 1 })).toThrow(new UsageError('--conf must be a number in [0, 1], got "2"'));
    expect(() => numberOption('conf', '', 0.25, { min: 0, max: 1 })).toThrow('--conf must be a number in [0, 1], got ""');
    expect(() => numberOption('batch', 'x', 4, { min: 1, max: 64, integer: true })).toThrow('--batch must be a number in [1, 64], got "x"');
    expect(() => numberOption('batch', '2.5', 4, { min: 1, max: 64, integer: true })).toThrow('--batch must be an integer in [1, 64], got "2.5"');
  });
});

describe('choiceListOption', () => {
  it('splits a comma list of allowed values', () => {
    expect(choiceListOption('providers', 'cuda, cpu', ['tensorrt', 'cuda', 'cpu'])).toEqual(['cuda', 'cpu']);
    expect(choiceListOption('providers', undefined, ['cpu'])).toBeUndefined();
    expect(() => choiceListOption('providers', 'gpu,cpu', ['tensorrt', 'cuda', 'cpu'])).toThrow('--providers must be a comma-separated list of tensorrt, cuda, cpu, got "gpu,cpu"');
    expect(() => choiceListOption('providers', ',', ['cpu'])).toThrow(UsageError);
  });
});

describe('runCommand', () => {
  it('exits 2 for bad usage (UsageError, unknown options) and 1 for other failures, with one line on stderr', async () => {
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect(await runCommand('x', async () => 0)).toBe(0);
      expect(await runCommand('x', async () => { throw new UsageError('bad --y'); })).toBe(2);
      expect(await runCommand('x', async () => { parseArgs({ args: ['--nope'], options: {} }); return 0; })).toBe(2);
      expect(await runCommand('x', async () => { throw new Error('disk full'); })).toBe(1);
      expect(err.mock.calls.map((c) => c[0])).toEqual(['streamlens x: bad --y\n', expect.stringMatching(/^streamlens x: Unknown option '--nope'/), 'streamlens x: disk full\n']);
    } finally {
      err.mockRestore();
    }
  });
});

describe('the streamlens entry point', () => {
  it('streamlens --version prints the package version (read next to the built CLI)', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ['dist/src/cli/main.js', '--version']);
    expect(stdout).toBe(`${(JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version}\n`);
  });

  it('has no bench command: the harness is bench/main.ts, not shipped with the CLI', async () => {
    const r = await promisify(execFile)(process.execPath, ['dist/src/cli/main.js', 'bench']).catch((e: { code: number; stderr: string }) => e);
    expect(r).toMatchObject({ code: 2, stderr: expect.stringMatching(/^streamlens: unknown command 'bench'/) });
  });
});
