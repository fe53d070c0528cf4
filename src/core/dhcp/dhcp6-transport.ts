// What the DHCPv6 client sends and hears through: UDP from port 546 on one
// link to All_DHCP_Relay_Agents_and_Servers (ff02::1:2) port 547, and what
// servers send back to the link's link-local address. An interface, so that
// the client's unit tests run against a fake; the real one is a node:dgram
// socket (udp6-transport.ts). docs/dhcp6.md.

export interface Dhcp6Datagram {
  readonly payload: Buffer;
  /** the server's (or relay's) address, without its scope */
  readonly source: string;
}

export interface Dhcp6Transport {
  /** Sends `payload` to ff02::1:2 port 547 on the link; throws an Error that says why it could not. */
  send(payload: Buffer): void;
  /** Hands every datagram to port 546 on the link to `handler` from now on; null stops. */
  listen(handler: ((d: Dhcp6Datagram) => void) | null): void;
  close(): void;
}
