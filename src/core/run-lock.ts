// RunLock: the lock file in run-dir that keeps two daemons from sharing
// profiles or a trail (docs/api.md).
import { constants, mkdirSync, openSync, closeSync, ftruncateSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { tryLockExclusive } from '../native/libc.js';
import { NetauditError } from './errors.js';

export class RunLock {
  private constructor(private readonly fd: number) {}

  static acquire(runDir: string): RunLock {
    mkdirSync(runDir, { recursive: true, mode: 0o755 });
    const path = join(runDir, 'netauditd.lock');
    const fd = openSync(path, constants.O_RDWR | constants.O_CREAT, 0o644);
    const locked = tryLockExclusive(fd);
    if (!locked.ok) {
      closeSync(fd);
      throw new NetauditError(
        'Failed',
        `another netauditd holds ${path} (errno ${locked.errno}); two daemons must not share profiles or a trail`,
      );
    }
    ftruncateSync(fd, 0);
    writeSync(fd, `${process.pid}\n`, 0);
    return new RunLock(fd);
  }

  release(): void {
    closeSync(this.fd);
  }
}
