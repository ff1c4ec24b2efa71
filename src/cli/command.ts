/** What every `streamlens <command>` module exports. */
export interface Command {
  summary: string;
  help: string;
  /** Returns the process exit code. */
  run(argv: string[]): Promise<number>;
}
