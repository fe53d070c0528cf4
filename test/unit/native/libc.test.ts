// forbidCoreDumps, in a process of its own (it cannot be undone): afterwards the kernel reports
// the process not dumpable (PR_GET_DUMPABLE 0), so it writes no core dump of it.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { repoPath } from '../../helpers/repo.js';

const SCRIPT = `
import koffi from 'koffi';
const { forbidCoreDumps } = await import(${JSON.stringify(repoPath('dist', 'native', 'libc.js'))});
const prctl = koffi.load('libc.so.6').func('int prctl(int, unsigned long, unsigned long, unsigned long, unsigned long)');
const before = prctl(3, 0, 0, 0, 0);
const result = forbidCoreDumps();
process.stdout.write(JSON.stringify({ before, result, after: prctl(3, 0, 0, 0, 0) }));
`;

describe('forbidCoreDumps', () => {
  it('makes the process not dumpable', () => {
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', SCRIPT], { cwd: repoPath(), encoding: 'utf8' });
    expect(JSON.parse(out)).toEqual({ before: 1, result: { ok: true }, after: 0 });
  });
});
