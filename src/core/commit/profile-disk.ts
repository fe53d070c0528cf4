// ProfileDisk: the file operations the commit protocol needs from the
// profiles directory, each saying what it makes durable (docs/commit.md).
// The daemon's is WorkerDisk (worker-disk.ts); the protocol's tests use a
// model of a file system that loses what was not synced.

/** A file to take away, only while it holds the profile `uuid` ('' for any). */
export interface Unlink {
  readonly name: string;
  readonly uuid: string;
}

/** True when keyfile `text` names the profile `uuid` in a uuid= line. */
export function holdsProfile(text: string, uuid: string): boolean {
  if (uuid === '') return true;
  const wanted = uuid.toLowerCase();
  return text.split('\n').some((line) => line.startsWith('uuid=') && line.slice(5).trim().toLowerCase() === wanted);
}

export interface ProfileDisk {
  /** the profiles directory */
  readonly dir: string;
  /**
   * Appends `text` to the write-ahead segment `name` and syncs its data:
   * resolves once it is durable. On failure it rejects and the segment is
   * cut back to where it was (or is cut before the next append), so no torn
   * line ever stands between two whole ones.
   */
  append(name: string, text: string): Promise<void>;
  /**
   * Makes changes visible, nothing synced: each file written whole under a
   * temporary name and renamed over `name`, then each of `unlinks` removed
   * if it still holds the profile `uuid` ('' for any); a missing one is no
   * error, and one that now holds another profile is left alone.
   */
  install(files: ReadonlyArray<{ readonly name: string; readonly content: string }>, unlinks: ReadonlyArray<Unlink>): Promise<void>;
  /** Syncs each named file that exists, then the directory: what `install` did to them is durable. */
  sync(names: readonly string[]): Promise<void>;
  /** Creates segment `name` holding `text`, durable with its directory entry, before it resolves. */
  create(name: string, text: string): Promise<void>;
  /** Removes the named files and syncs the directory. */
  remove(names: readonly string[]): Promise<void>;
  /** The names in the directory. */
  list(): Promise<string[]>;
  /** A file's text, null when it does not exist. */
  read(name: string): Promise<string | null>;
  /** Writes `name` whole and durably: a temp file synced, renamed over it, the directory synced. */
  writeDurably(name: string, content: string): Promise<void>;
}
