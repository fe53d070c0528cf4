// DnsManager: sources set and removed by key, one batch per turn, the backend switched with what
// it replaced put back, and nothing ever rejected (docs/dns.md).
import { describe, expect, it } from 'vitest';
import { DnsManager, type DnsBackend } from '../../../../src/core/dns/dns-manager.js';
import type { LinkDns } from '../../../../src/core/dns/link-dns.js';
import { Logger } from '../../../../src/log/logger.js';
import { dns } from './sources.js';

class RecordingBackend implements DnsBackend {
  readonly applied: string[][] = [];
  readonly closed: boolean[] = [];
  failWith: Error | null = null;
  constructor(readonly name: DnsBackend['name'] = 'file') {}
  async apply(links: readonly LinkDns[]): Promise<void> {
    if (this.failWith) throw this.failWith;
    this.applied.push(links.flatMap((l) => l.servers));
  }
  async close(restore: boolean): Promise<void> {
    this.closed.push(restore);
  }
}

function manager(): { dns: DnsManager; lines: string[] } {
  const lines: string[] = [];
  const logger = new Logger({ write: (line) => lines.push(line) }, { now: () => 0 });
  return { dns: new DnsManager({ log: logger.domain('CORE') }), lines };
}

describe('DnsManager', () => {
  it('applies what one turn sets in one batch, in dns-priority order', async () => {
    const { dns: m } = manager();
    const b = new RecordingBackend();
    await m.setBackend(b);
    const a = m.set('active:1:static4', dns(2, ['192.0.2.1']));
    const c = m.set('active:2:static4', dns(3, ['192.0.2.2'], { priority: 10 }));
    await Promise.all([a, c]);
    expect(b.applied).toEqual([[], ['192.0.2.2', '192.0.2.1']]);
  });

  it('does not apply a source set again unchanged', async () => {
    const { dns: m } = manager();
    const b = new RecordingBackend();
    await m.setBackend(b);
    await m.set('active:1:static4', dns(2, ['192.0.2.1']));
    await m.set('active:1:static4', dns(2, ['192.0.2.1']));
    await m.remove('active:9:static4');
    await m.removeAll('active:9:');
    expect(b.applied).toEqual([[], ['192.0.2.1']]);
  });

  it('removes one source, or all of one active connection by prefix', async () => {
    const { dns: m } = manager();
    const b = new RecordingBackend();
    await m.setBackend(b);
    m.set('active:1:static4', dns(2, ['192.0.2.1']));
    m.set('active:1:static6', dns(2, ['2001:db8::1']));
    await m.set('active:12:static4', dns(3, ['192.0.2.12']));
    await m.remove('active:12:static4');
    expect(b.applied.at(-1)).toEqual(['192.0.2.1', '2001:db8::1']);
    await m.removeAll('active:1:');
    expect(b.applied.at(-1)).toEqual([]);
  });

  it('takes DNS with no server and no domain as no source', async () => {
    const { dns: m } = manager();
    const b = new RecordingBackend();
    await m.setBackend(b);
    await m.set('active:1:static4', dns(2, ['192.0.2.1']));
    await m.set('active:1:static4', dns(2, []));
    expect(b.applied).toEqual([[], ['192.0.2.1'], []]);
  });

  it('puts a connection\'s static DNS before what it learned, whichever was set first', async () => {
    const { dns: m } = manager();
    const b = new RecordingBackend();
    await m.setBackend(b);
    m.set('active:1:dhcp4', dns(2, ['192.0.2.100'], { defaultRoute: true }));
    m.set('active:2:static4', dns(3, ['198.51.100.1'], { defaultRoute: true }));
    await m.set('active:1:static4', dns(2, ['192.0.2.1'], { defaultRoute: true }));
    expect(b.applied.at(-1)).toEqual(['192.0.2.1', '192.0.2.100', '198.51.100.1']);
  });

  it('shows what a link gives, merged in order, whatever the backend', async () => {
    const { dns: m } = manager();
    await m.set('active:1:static6', dns(2, ['2001:db8::1'], { searches: ['six.example'], priority: 200 }));
    await m.set('active:1:static4', dns(2, ['192.0.2.1'], { searches: ['four.example'] }));
    await m.set('active:2:static4', dns(3, ['192.0.2.2']));
    expect(m.forLink(2)).toEqual({ servers: ['192.0.2.1', '2001:db8::1'], searches: ['four.example', 'six.example'] });
    expect(m.forLink(7)).toEqual({ servers: [], searches: [] });
  });

  it('keeps the sources set before there is a backend, and gives them to it', async () => {
    const { dns: m } = manager();
    await m.set('active:1:static4', dns(2, ['192.0.2.1']));
    const b = new RecordingBackend();
    await m.setBackend(b);
    expect(b.applied).toEqual([['192.0.2.1']]);
  });

  it('closes the backend it switches from with restore, and the last one at stop without', async () => {
    const { dns: m } = manager();
    const first = new RecordingBackend('file');
    const second = new RecordingBackend('resolved');
    await m.setBackend(first);
    await m.set('active:1:static4', dns(2, ['192.0.2.1']));
    await m.setBackend(second);
    expect(first.closed).toEqual([true]);
    expect(second.applied).toEqual([['192.0.2.1']]);
    expect(m.backendName).toBe('resolved');
    await m.close();
    expect(second.closed).toEqual([false]);
    expect(m.backendName).toBeNull();
  });

  it('never rejects: a failing backend is logged, and the next change is applied', async () => {
    const { dns: m, lines } = manager();
    const b = new RecordingBackend();
    await m.setBackend(b);
    b.failWith = new Error('disk on fire');
    await expect(m.set('active:1:static4', dns(2, ['192.0.2.1']))).resolves.toBeUndefined();
    expect(lines.join('')).toContain('DNS could not be applied: disk on fire');
    b.failWith = null;
    await m.set('active:2:static4', dns(3, ['192.0.2.2']));
    expect(b.applied.at(-1)).toEqual(['192.0.2.1', '192.0.2.2']);
  });

  it('leaves out, with one warning, what is not an address or a domain', async () => {
    const { dns: m, lines } = manager();
    const b = new RecordingBackend();
    await m.setBackend(b);
    await m.set('active:1:static4', dns(2, ['192.0.2.1', 'bogus']));
    await m.set('active:1:static4', dns(2, ['192.0.2.1', 'bogus'], { searches: ['x.example'] }));
    expect(b.applied.at(-1)).toEqual(['192.0.2.1']);
    expect(lines.filter((l) => l.includes('"bogus" is neither an IP address nor a DNS domain'))).toHaveLength(1);
  });
});
