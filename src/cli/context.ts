// What every netauditctl object gets from the global options: how to show
// results, which bus to talk to, and how long to wait for the daemon.
import type { OutputOptions } from './format/render.js';

export interface CliContext {
  readonly output: OutputOptions;
  readonly busAddress: string | undefined;
  readonly waitSeconds: number;
}
