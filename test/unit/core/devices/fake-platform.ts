// FakePlatform: a Platform whose links the test sets and whose kernel events the test emits, for the device unit tests.
import { EventEmitter } from 'node:events';
import type { Address, KernelRefusal, Link, Platform, PlatformEvents } from '../../../../src/core/platform/platform.js';

export class FakePlatform extends EventEmitter<PlatformEvents> implements Platform {
  /** what the kernel answers the next deleteLink with: null deletes the link */
  refusal: KernelRefusal | null = null;
  deleted: number[] = [];
  constructor(public current: Link[] = []) {
    super();
  }
  async links(): Promise<Link[]> {
    return this.current;
  }
  async addresses(): Promise<Address[]> {
    return [];
  }
  async deleteLink(ifindex: number): Promise<void> {
    if (this.refusal) throw this.refusal;
    const gone = this.current.find((l) => l.ifindex === ifindex);
    this.deleted.push(ifindex);
    this.current = this.current.filter((l) => l.ifindex !== ifindex);
    if (gone) this.emit('link-removed', gone);
  }
  async close(): Promise<void> {}
}

/** A veth v0 at ifindex 2, down and without carrier, with `over` in place of its fields. */
export const fakeLink = (over: Partial<Link> = {}): Link => ({
  ifindex: 2, name: 'v0', kind: 'veth', arphrd: 1, mtu: 1500, hwAddress: '02:00:5e:00:00:01', up: false, lowerUp: false, master: null, ...over,
});
