// ActiveStore: each active connection's state in run-dir/active/UUID.json —
// what it applied, its undo list, the change under way and the record that
// committed it — so that the next daemon can adopt it after a restart
// (docs/active-state.md). Like NetworkManager's /run/NetworkManager/devices
// it outlives the daemon but not the machine: each file names the kernel's
// boot id, and a file from another boot is dropped.
//
// Written synchronously, whole, through a rename, before and after each
// kernel change: the file is on the kernel's side of a crash of the daemon
// (the page cache outlives the process), and with the network state it
// describes it does not outlive the machine, so it is never fsynced.
import { mkdirSync, readdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DomainLogger } from '../../log/logger.js';
import type { AuditOp } from '../audit/record.js';
import type { Address, KernelRoute } from '../platform/platform.js';
import type { UndoStep } from './undo.js';
import type { SavedRaDns } from '../dns/ra-dns.js';

/** The link settings an activation set (what it changed, not what the link had). */
export interface LinkApplied {
  readonly mtu?: number;
  readonly hwAddress?: string;
  readonly master?: number;
}

/** The record that committed an activation or a deactivation: a daemon start and a commit id. */
export interface CommittedBy {
  readonly op: AuditOp;
  readonly boot: string;
  readonly tx: number;
}

export interface SavedActive {
  /** the file's name without .json (activeKey of the record that committed it) */
  readonly key: string;
  readonly version: 1;
  /** /proc/sys/kernel/random/boot_id when written */
  readonly kernelBoot: string;
  readonly uuid: string;
  readonly id: string;
  readonly iface: string;
  readonly ifindex: number | null;
  /** the bridge's profile uuid for a port */
  readonly master: string | null;
  readonly hasGateway: boolean;
  readonly state: 'activating' | 'activated' | 'deactivating';
  /**
   * The record of the activation (or adoption). Written before that record
   * is made, as an intent: at start, an activation whose record is not in
   * the trail never happened.
   */
  readonly committedBy: CommittedBy;
  /** the record of the deactivation under way, written before that record is made (an intent, as above) */
  readonly ending?: CommittedBy;
  readonly undo: readonly UndoStep[];
  /** the link settings the activation set */
  readonly applied?: LinkApplied;
  readonly pending: UndoStep | null;
  /** the link's addresses and routes when the activation ended, to tell what others changed while the daemon was stopped */
  readonly seen?: { readonly addresses: readonly Address[]; readonly routes: readonly KernelRoute[] };
  /** the settings it was activated with or last reapplied, without secrets, as a keyfile (Device.GetAppliedConnection after a restart) */
  readonly appliedProfile?: string;
  /** ipv6.method auto: the DNS router advertisements gave the link, each value with when it ends */
  readonly raDns?: SavedRaDns;
}

export function kernelBootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return 'unknown';
  }
}

/** A file per activation, named by the daemon start and commit id of its record: a profile may run twice for a moment (the old one giving way). */
const KEY_FILE = /^([0-9a-f]{1,64}-[0-9]{1,16})\.json$/;

/** The key of an activation's file: the boot and tx of the record that committed it. */
export function activeKey(by: CommittedBy): string {
  return `${by.boot}-${by.tx}`;
}

export class ActiveStore {
  private readonly dir: string;
  readonly kernelBoot = kernelBootId();

  constructor(
    runDir: string,
    private readonly log: DomainLogger,
  ) {
    this.dir = join(runDir, 'active');
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
  }

  save(key: string, saved: Omit<SavedActive, 'version' | 'kernelBoot' | 'key'>): void {
    const path = join(this.dir, `${key}.json`);
    const temp = `${path}.tmp`;
    try {
      writeFileSync(temp, `${JSON.stringify({ version: 1, kernelBoot: this.kernelBoot, ...saved })}\n`, { mode: 0o600 });
      renameSync(temp, path);
    } catch (e) {
      this.log.err(`the state of the active connection ${saved.uuid} could not be kept in ${path} (${(e as Error).message}); after a restart it will not be adopted`);
    }
  }

  remove(key: string): void {
    try {
      unlinkSync(join(this.dir, `${key}.json`));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') this.log.warn(`could not remove ${join(this.dir, `${key}.json`)}: ${(e as Error).message}`);
    }
  }

  /** What the last daemon left, from this boot of the kernel; the rest is removed. */
  load(): SavedActive[] {
    const out: SavedActive[] = [];
    for (const name of readdirSync(this.dir)) {
      const path = join(this.dir, name);
      const key = KEY_FILE.exec(name)?.[1];
      if (key === undefined) {
        if (name.endsWith('.tmp')) unlinkSync(path);
        continue;
      }
      try {
        const saved = { ...(JSON.parse(readFileSync(path, 'utf8')) as SavedActive), key };
        if (saved.version !== 1) throw new Error('not a state file of this daemon');
        if (saved.kernelBoot !== this.kernelBoot) {
          this.log.info(`dropping ${path}: it was written before the machine last booted`);
          unlinkSync(path);
          continue;
        }
        out.push(saved);
      } catch (e) {
        this.log.err(`dropping ${path}: ${(e as Error).message}; its connection is not adopted`);
        unlinkSync(path);
      }
    }
    return out;
  }
}
