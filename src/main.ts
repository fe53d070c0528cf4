#!/usr/bin/env node
// netauditd's entry point. It runs the daemon (netauditd.ts) from the one
// file the build bundles it into, dist/netauditd.cjs, compiled with the V8
// code cache the build made of it: loading the hundred-odd modules one by
// one costs three times as long, and a daemon is waited for until it owns
// its bus name. Without a bundle, or with one older than the modules (tsc
// run again after the build), it imports the modules.
// First, so that NETAUDITD_LOOP_STATS measures the event loop from the start (src/loop-stats.ts).
import './loop-stats.js';
import { readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Script } from 'node:vm';

const BUNDLE = fileURLToPath(new URL('./netauditd.cjs', import.meta.url));
const MODULES = fileURLToPath(new URL('./netauditd.js', import.meta.url));

function bundleIsCurrent(): boolean {
  try {
    return statSync(BUNDLE).mtimeMs >= statSync(MODULES).mtimeMs;
  } catch {
    return false;
  }
}

function runBundle(): void {
  let cachedData: Buffer | undefined;
  try {
    cachedData = readFileSync(`${BUNDLE}.cache`);
  } catch {
    // No cache: compiled from source, a few ms slower.
  }
  // The file is one function expression, CommonJS's module wrapper (scripts/bundle.mjs), which
  // the cache was made from. A cache made by another V8 (or other flags) is rejected: compiled anew.
  const script = new Script(readFileSync(BUNDLE, 'utf8'), { filename: BUNDLE, ...(cachedData ? { cachedData } : {}) });
  const run = script.runInThisContext() as (exports: object, require: NodeJS.Require, module: object, filename: string, dirname: string) => void;
  const module = { exports: {} };
  run(module.exports, createRequire(BUNDLE), module, BUNDLE, fileURLToPath(new URL('.', import.meta.url)));
}

if (bundleIsCurrent()) runBundle();
else await import('./netauditd.js');
