// Day files: the trail is one file per UTC day, audit-YYYY-MM-DD.jsonl
// (docs/record-format.md), so that retention can drop whole files and names sort by date.
import { readdir } from 'node:fs/promises';

const DAY_FILE = /^audit-(\d{4}-\d{2}-\d{2})\.jsonl$/;

export function dayFileName(ms: number): string {
  return `audit-${new Date(ms).toISOString().slice(0, 10)}.jsonl`;
}

/** The date a day file's name carries, or null for any other name (including impossible dates). */
export function parseDayFileName(name: string): string | null {
  const date = DAY_FILE.exec(name)?.[1];
  if (date === undefined) return null;
  const ms = Date.parse(`${date}T00:00:00Z`);
  // Date.parse may roll 2026-02-30 over into March; only a round trip proves the date exists.
  return !Number.isNaN(ms) && dayFileName(ms) === name ? date : null;
}

/** Names (not paths) of the day files in dir, oldest first. */
export async function listDayFiles(dir: string): Promise<string[]> {
  const names = await readdir(dir);
  // The fixed-width name sorts like its date.
  return names.filter((name) => parseDayFileName(name) !== null).sort();
}
