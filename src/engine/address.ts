// A peer's transport address as the UDP sockets report it.

export interface Address {
  address: string;
  port: number;
  /**
   * The local address the peer's datagram arrived at, when it came through a socket
   * bound to that address: packets to the peer leave from the same socket, so they
   * come from the address the peer asked. Not part of the routing key.
   */
  local?: string;
}

/** The key under which the mux routes packets from an address. */
export function addressKey(a: Address): string {
  return `${a.address}|${a.port}`;
}

/** A dual-stack IPv6 socket reports IPv4 peers as ::ffff:a.b.c.d; STUN and logs want a.b.c.d. */
export function unmapIPv4(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}
