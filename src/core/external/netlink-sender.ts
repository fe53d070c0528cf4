// The process behind a netlink port id (docs/external-changes.md). iproute2 and most tools let
// the kernel pick their socket's port id, which is then their pid, but the number alone proves
// nothing: the socket is looked up by its port id in /proc/net/netlink, and a process counts
// only if it holds that socket (its inode among the process's descriptors). A socket already
// closed, or one no readable process holds, is no process: never a guess.
import { readFile, readdir, readlink } from 'node:fs/promises';
import { readProcessView, type ProcessView } from '../process-view.js';

const NETLINK_ROUTE = 0;

/** The inode of the rtnetlink socket bound to `portid` in this network namespace, or null when there is none now. */
export async function netlinkSocketInode(portid: number, proc = '/proc'): Promise<number | null> {
  let text: string;
  try {
    text = await readFile(`${proc}/net/netlink`, 'utf8');
  } catch {
    return null;
  }
  // sk Eth Pid Groups Rmem Wmem Dump Locks Drops Inode
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10) continue;
    if (Number(f[1]) === NETLINK_ROUTE && Number(f[2]) === portid) return Number(f[9]);
  }
  return null;
}

async function holds(pid: number, inode: number, proc: string): Promise<boolean> {
  let fds: string[];
  try {
    fds = await readdir(`${proc}/${pid}/fd`);
  } catch {
    return false;
  }
  const wanted = `socket:[${inode}]`;
  for (const fd of fds) {
    if ((await readlink(`${proc}/${pid}/fd/${fd}`).catch(() => '')) === wanted) return true;
  }
  return false;
}

/**
 * The process holding the rtnetlink socket `portid`, read at once; null when the socket is gone
 * or no process that can be read holds it. The pid the port id names is tried first, then every
 * process (a tool that opened a second socket, or one that chose its own port id).
 */
export async function netlinkSender(portid: number, proc = '/proc'): Promise<ProcessView | null> {
  const inode = await netlinkSocketInode(portid, proc);
  if (inode === null) return null;
  let pid: number | null = (await holds(portid, inode, proc)) ? portid : null;
  if (pid === null) {
    const all = (await readdir(proc).catch(() => [] as string[])).filter((n) => /^\d+$/.test(n)).map(Number);
    for (const candidate of all) {
      if (candidate !== portid && (await holds(candidate, inode, proc))) {
        pid = candidate;
        break;
      }
    }
  }
  return pid === null ? null : readProcessView(pid, proc);
}
