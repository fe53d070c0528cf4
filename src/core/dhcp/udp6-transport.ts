// The DHCPv6 client's transport on a real link: a node:dgram udp6 socket bound
// to the link's link-local address, port 546, scoped to the link. Unlike
// DHCPv4 no packet socket is needed: an IPv6 link has its link-local address
// before it has anything from DHCP, and servers answer to it. docs/dhcp6.md.
import { createSocket, type Socket } from 'node:dgram';
import { ALL_DHCP_SERVERS, DHCP6_CLIENT_PORT, DHCP6_SERVER_PORT } from './dhcp6-message.js';
import type { Dhcp6Transport } from './dhcp6-transport.js';
import type { TransportLog } from './packet-transports.js';

/** How often a bind refused because the address is still tentative is tried again. */
const BIND_RETRY_MS = 100;

function bind(socket: Socket, address: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const failed = (e: Error): void => reject(e);
    socket.once('error', failed);
    socket.bind({ address, port: DHCP6_CLIENT_PORT, exclusive: true }, () => {
      socket.off('error', failed);
      resolve();
    });
  });
}

/**
 * Opens the transport of link `iface` from its link-local address `linkLocal`. The kernel
 * refuses to bind an address still under duplicate address detection (tentative,
 * EADDRNOTAVAIL), so the bind is tried again until it is not, until `deadline` (epoch ms), or
 * until `signal` aborts (a link without carrier keeps its address tentative).
 * Throws an Error that says why it could not: without CAP_NET_BIND_SERVICE port 546 is EACCES.
 */
export async function openUdp6Transport(iface: string, linkLocal: string, deadline: number, log: TransportLog, signal?: AbortSignal): Promise<Dhcp6Transport> {
  for (;;) {
    if (signal?.aborted) throw new Error(`${iface}: DHCPv6 stopped before its socket could be bound`);
    const socket = createSocket({ type: 'udp6', reuseAddr: false });
    try {
      await bind(socket, `${linkLocal}%${iface}`);
      return wrap(socket, iface, log);
    } catch (e) {
      socket.close();
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'EADDRNOTAVAIL' || Date.now() >= deadline) {
        throw new Error(`${iface}: cannot bind [${linkLocal}]:${DHCP6_CLIENT_PORT}: ${code === 'EACCES' ? 'port 546 needs CAP_NET_BIND_SERVICE' : (e as Error).message}`);
      }
      await new Promise((resolve) => setTimeout(resolve, BIND_RETRY_MS));
    }
  }
}

function wrap(socket: Socket, iface: string, log: TransportLog): Dhcp6Transport {
  let handler: ((d: { payload: Buffer; source: string }) => void) | null = null;
  let closed = false;
  /** sends not yet done: the socket closes after them, so that a Release sent just before close() goes out */
  let sending = 0;
  const closeWhenSent = (): void => {
    if (closed && sending === 0) socket.close();
  };
  socket.on('message', (payload, rinfo) => handler?.({ payload, source: rinfo.address.replace(/%.*$/, '') }));
  socket.on('error', (e) => log.warn(`${iface}: DHCPv6 socket: ${e.message}`));
  socket.unref();
  return {
    send(payload) {
      if (closed) throw new Error('the socket is closed');
      sending++;
      socket.send(payload, DHCP6_SERVER_PORT, `${ALL_DHCP_SERVERS}%${iface}`, (e) => {
        sending--;
        if (e) log.warn(`${iface}: a DHCPv6 message was not sent: ${e.message}`);
        closeWhenSent();
      });
    },
    listen(h) {
      handler = h;
    },
    close() {
      if (closed) return;
      closed = true;
      handler = null;
      closeWhenSent();
    },
  };
}
