// What the DHCP client sends and hears through: UDP between ports 68 and 67
// on one link, with the addresses of the frame given, and ARP on the same
// link for the address conflict check. Interfaces, so that the client's
// unit tests run against fakes; the real ones are packet sockets
// (packet-transports.ts). docs/dhcp4.md describes both.

export interface Dhcp4Datagram {
  /** the DHCP message: the UDP payload */
  readonly payload: Buffer;
  readonly sourceIp: string;
  /** lower-case colon hex: the server's, or the relay's, hardware address */
  readonly sourceMac: string;
}

export interface Dhcp4Destination {
  /** 0.0.0.0 while the client has no address */
  readonly sourceIp: string;
  readonly destinationIp: string;
  /** null: the link's broadcast address */
  readonly destinationMac: string | null;
}

export interface Dhcp4Transport {
  /** Sends `payload` from port 68 to port 67; throws an Error that says why it could not. */
  send(payload: Buffer, to: Dhcp4Destination): void;
  /** Hands every datagram to port 68 on the link to `handler` from now on; null stops. */
  listen(handler: ((d: Dhcp4Datagram) => void) | null): void;
  close(): void;
}

export const ARP_REQUEST = 1;
export const ARP_REPLY = 2;

/** An ARP packet for IPv4 over Ethernet; addresses as text. */
export interface ArpPacket {
  readonly op: number;
  readonly senderMac: string;
  readonly senderIp: string;
  readonly targetMac: string;
  readonly targetIp: string;
}

export interface ArpTransport {
  /** Sends `packet` to every host on the link; throws an Error that says why it could not. */
  send(packet: ArpPacket): void;
  /** Hands every ARP packet heard on the link to `handler`; null stops (and costs nothing while stopped). */
  listen(handler: ((p: ArpPacket) => void) | null): void;
  close(): void;
}
