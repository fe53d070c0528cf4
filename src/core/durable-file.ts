// Durable files: a file replaced whole and atomically (a temp file written
// and fsynced, renamed over the old one, the directory fsynced), so that a
// crash or a power loss leaves the old content or the new, never a part.
import { constants } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** fsyncs the file or directory at `path`, opened with `flags`. */
export async function syncPath(path: string, flags: number = constants.O_RDONLY): Promise<void> {
  const handle = await open(path, flags);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** fsyncs a directory, which makes the renames and unlinks in it durable. */
export function syncDir(dir: string): Promise<void> {
  return syncPath(dir, constants.O_RDONLY | constants.O_DIRECTORY);
}

/** Writes `content` to `path`, fsynced, and fsyncs its directory; the temp file is `.NAME.tmp` beside it. */
export async function writeDurably(path: string, content: string | Uint8Array, mode = 0o600): Promise<void> {
  const dir = dirname(path);
  const temp = join(dir, `.${basename(path)}.tmp`);
  await unlink(temp).catch(() => undefined);
  const handle = await open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, mode);
  try {
    await (typeof content === 'string' ? handle.writeFile(content, 'utf8') : handle.writeFile(content));
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temp, path);
  await syncDir(dir);
}

/** Renames `from` over `to` and fsyncs the directory. */
export async function renameDurably(from: string, to: string): Promise<void> {
  await rename(from, to);
  await syncDir(dirname(to));
}
