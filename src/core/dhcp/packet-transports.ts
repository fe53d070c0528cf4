// The DHCP client's transports on a real link: packet sockets
// (src/native/packet-socket.ts), which send and hear on the link before it
// has an address. docs/dhcp4.md says why not a UDP socket.
import { ArpPacketSocket, Udp4PacketSocket } from '../../native/packet-socket.js';
import { decodeArp, encodeArp } from './arp-packet.js';
import { DHCP4_CLIENT_PORT, DHCP4_SERVER_PORT } from './dhcp4-message.js';
import type { ArpTransport, Dhcp4Transport } from './dhcp4-transport.js';

/** Drops and receive errors seen by the transports, for the client's log; nothing is logged without it. */
export interface TransportLog {
  debug(m: string): void;
  warn(m: string): void;
}

const quiet: TransportLog = { debug() {}, warn() {} };

/**
 * The transports of the link `ifindex`: both closable, and neither wakes
 * anything while it is not listening. Throws when a packet socket cannot be
 * opened (without CAP_NET_RAW, or for a link that is gone).
 */
export function openDhcp4Transports(ifindex: number, log: TransportLog = quiet): { transport: Dhcp4Transport; arp: ArpTransport } {
  const udp = Udp4PacketSocket.open(ifindex, DHCP4_CLIENT_PORT);
  let arpSocket: ArpPacketSocket;
  try {
    arpSocket = ArpPacketSocket.open(ifindex);
  } catch (e) {
    udp.close();
    throw e;
  }
  const transport: Dhcp4Transport = {
    send(payload, to) {
      udp.send({ source: to.sourceIp, destination: to.destinationIp, sourcePort: DHCP4_CLIENT_PORT, destinationPort: DHCP4_SERVER_PORT, payload }, to.destinationMac);
    },
    listen(handler) {
      if (!handler) return udp.listen(null);
      udp.listen({
        datagram: (d) => handler({ payload: d.payload, sourceIp: d.source, sourceMac: d.sourceMac }),
        invalid: (reason) => log.debug(`ifindex ${ifindex}: a packet to port ${DHCP4_CLIENT_PORT} dropped: ${reason}`),
        error: (e) => log.warn(e.message),
      });
    },
    close: () => udp.close(),
  };
  const arp: ArpTransport = {
    send: (packet) => arpSocket.send(encodeArp(packet)),
    listen(handler) {
      if (!handler) return arpSocket.listen(null);
      arpSocket.listen({
        frame: (f) => {
          const p = decodeArp(f.data);
          if (p) handler(p);
        },
        error: (e) => log.warn(e.message),
      });
    },
    close: () => arpSocket.close(),
  };
  return { transport, arp };
}
