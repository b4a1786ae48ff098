// A peer's transport address as the UDP socket reports it.

export interface Address {
  address: string;
  port: number;
}

/** The key under which the mux routes packets from an address. */
export function addressKey(a: Address): string {
  return `${a.address}|${a.port}`;
}

/** A dual-stack IPv6 socket reports IPv4 peers as ::ffff:a.b.c.d; STUN and logs want a.b.c.d. */
export function unmapIPv4(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}
