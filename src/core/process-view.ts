// ProcessView: a process that changed something behind the daemon's back (a
// profile file, docs/profile-edits.md; the kernel's state through rtnetlink,
// docs/external-changes.md), as /proc shows it when the event arrives. Read
// at once: the process may be gone a moment later, and its pid reused. Only
// what could be read is given, and a process that cannot be read is no
// actor: never a guess.
import { readFileSync, readlinkSync } from 'node:fs';

export interface ProcessView {
  readonly pid: number;
  /** the real uid */
  readonly uid: number;
  readonly exe?: string;
  readonly comm?: string;
  /** the login uid, absent when unset (4294967295) */
  readonly auid?: number;
  readonly ses?: number;
}

const UNSET = 4294967295;

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function count(text: string | undefined): number | undefined {
  if (text === undefined || !/^\d+$/.test(text.trim())) return undefined;
  const n = Number(text.trim());
  return n === UNSET ? undefined : n;
}

/** The process `pid` as /proc shows it now; null when it cannot be read (gone, or pid 0). */
export function readProcessView(pid: number, proc = '/proc'): ProcessView | null {
  if (!Number.isInteger(pid) || pid <= 0) return null;
  const status = readText(`${proc}/${pid}/status`);
  const uid = status === undefined ? null : /^Uid:\s*(\d+)/m.exec(status);
  if (!uid) return null;
  let exe: string | undefined;
  try {
    exe = readlinkSync(`${proc}/${pid}/exe`);
  } catch {
    exe = undefined;
  }
  const comm = readText(`${proc}/${pid}/comm`)?.replace(/\n$/, '');
  const auid = count(readText(`${proc}/${pid}/loginuid`));
  const ses = count(readText(`${proc}/${pid}/sessionid`));
  return {
    pid,
    uid: Number(uid[1]),
    ...(exe !== undefined ? { exe } : {}),
    ...(comm !== undefined ? { comm } : {}),
    ...(auid !== undefined ? { auid } : {}),
    ...(ses !== undefined ? { ses } : {}),
  };
}

/** One actor for events of several processes only when they are one process; else none. */
export function sameProcess(a: ProcessView | null, b: ProcessView | null): ProcessView | null {
  return a !== null && b !== null && a.pid === b.pid ? b : null;
}
