// RaDns: the DNS that router advertisements gave one link (docs/dhcp.md) — servers and search
// domains, each until its own lifetime ends. An advertisement that names a value again gives it
// its new lifetime and leaves it in its place; a lifetime of 0 withdraws it. Only values that
// DNS can use are kept, and only so many of each: a router cannot make the daemon hold more.
// Pure: the time is given.
import type { RaDnsOption } from '../platform/platform.js';
import { isDnsServer, isSearchDomain } from './link-dns.js';

export interface RaDnsEntry {
  readonly value: string;
  /** when it ends, in ms since the epoch; null: for as long as the link lasts */
  readonly expires: number | null;
}

/** What is kept of a link's RA DNS for the next daemon (docs/active-state.md). */
export interface SavedRaDns {
  readonly servers: readonly RaDnsEntry[];
  readonly searches: readonly RaDnsEntry[];
}

/** The most servers, and the most search domains, kept per link. */
export const MAX_RA_DNS = 16;

export class RaDns {
  private readonly entries: { servers: RaDnsEntry[]; searches: RaDnsEntry[] } = { servers: [], searches: [] };

  static fromSaved(saved: SavedRaDns): RaDns {
    const out = new RaDns();
    const valid = (e: RaDnsEntry): boolean => typeof e?.value === 'string' && (e.expires === null || Number.isFinite(e.expires));
    out.entries.servers = saved.servers.filter((e) => valid(e) && isDnsServer(e.value)).slice(0, MAX_RA_DNS);
    out.entries.searches = saved.searches.filter((e) => valid(e) && isSearchDomain(e.value)).slice(0, MAX_RA_DNS);
    return out;
  }

  /** The values of one option, received at `now`. */
  update(option: Pick<RaDnsOption, 'kind' | 'values' | 'lifetime'>, now: number): void {
    const list = this.entries[option.kind];
    const valid = option.kind === 'servers' ? isDnsServer : isSearchDomain;
    const expires = option.lifetime === null ? null : now + option.lifetime * 1000;
    for (const value of option.values) {
      if (!valid(value)) continue;
      const at = list.findIndex((e) => e.value === value);
      if (option.lifetime === 0) {
        if (at >= 0) list.splice(at, 1);
      } else if (at >= 0) {
        list[at] = { value, expires };
      } else if (list.length < MAX_RA_DNS) {
        list.push({ value, expires });
      } else {
        // Full: the one that ends first gives way, if it ends before the new one.
        const soonest = list.reduce((best, e, i) => (e.expires !== null && (list[best]!.expires === null || e.expires < list[best]!.expires!) ? i : best), 0);
        const end = list[soonest]!.expires;
        if (end !== null && (expires === null || end < expires)) {
          list.splice(soonest, 1);
          list.push({ value, expires });
        }
      }
    }
  }

  /** Drops what ended at `now` or before. */
  expire(now: number): void {
    for (const kind of ['servers', 'searches'] as const) this.entries[kind] = this.entries[kind].filter((e) => e.expires === null || e.expires > now);
  }

  /** When the next value ends; null when none ever does. */
  nextExpiry(): number | null {
    const ends = [...this.entries.servers, ...this.entries.searches].flatMap((e) => (e.expires === null ? [] : [e.expires]));
    return ends.length === 0 ? null : Math.min(...ends);
  }

  get servers(): string[] {
    return this.entries.servers.map((e) => e.value);
  }

  get searches(): string[] {
    return this.entries.searches.map((e) => e.value);
  }

  toSaved(): SavedRaDns {
    return { servers: [...this.entries.servers], searches: [...this.entries.searches] };
  }
}
