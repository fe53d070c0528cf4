// Paths inside the repository, found from this file (the nearest directory above it with a
// package.json), so that tests and benchmarks work from the sources and compiled alike.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'src'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no repository root above ${from}`);
  }
}

export const repoRoot = findRoot(dirname(fileURLToPath(import.meta.url)));

export function repoPath(...parts: string[]): string {
  return join(repoRoot, ...parts);
}
