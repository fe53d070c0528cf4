// ClientCore: what the DHCPv4 and DHCPv6 clients (dhcp4-client.ts, dhcp6-client.ts) share
// besides their protocols: the lease they hold, their state by name, and how they hand the
// daemon an event and wait until it was applied (docs/dhcp4.md, docs/dhcp6.md).

export interface ClientEvent<L> {
  readonly kind: string;
  readonly lease: L | null;
  readonly previous: L | null;
}

export interface ClientCoreOptions<E> {
  readonly iface: string;
  readonly log: { warn(m: string): void };
  /** awaited: the client does not move on until the daemon applied it */
  onEvent(e: E): Promise<void>;
}

export abstract class ClientCore<L extends { address: string | null }, E extends ClientEvent<L>, S extends string> {
  protected current: L | null = null;

  constructor(
    private readonly core: ClientCoreOptions<E>,
    protected st: S,
  ) {}

  get lease(): L | null {
    return this.current;
  }

  get state(): string {
    return this.st;
  }

  /** start() may run once, on a client still `idle`. */
  protected assertIdle(idle: S): void {
    if (this.st !== idle) throw new Error(`${this.core.iface}: the DHCP client was started already (it is ${this.st})`);
  }

  /** Hands the daemon `e` and waits until it applied it; a refusal is logged, and the client goes on. */
  protected async emit(e: E): Promise<void> {
    try {
      await this.core.onEvent(e);
    } catch (err) {
      this.core.log.warn(`${this.core.iface}: the '${e.kind}' of ${e.lease?.address ?? e.previous?.address ?? 'a lease'} was not applied: ${(err as Error).message}`);
    }
  }
}
