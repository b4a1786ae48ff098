// The sockets behind the one UDP port. A browser accepts a STUN answer only from the
// address it sent its check to, and Node cannot choose a datagram's source address
// (no IP_PKTINFO): a socket bound to the wildcard answers from whatever address the
// kernel routes by (on a host with 192.0.2.2, a check sent from there to 127.0.0.1
// was answered from 192.0.2.2, and Chromium never connected). So with a wildcard
// BIND there is one socket per local address, all on the same port, and a reply
// leaves from the socket its request arrived at; the wildcard socket stays for
// addresses that appear later (Linux delivers a datagram to the most specific bound
// socket). Sharing the port needs SO_REUSEADDR on every one of them. With a
// specific BIND, one socket as before.
import dgram from 'node:dgram';
import { isIPv6 } from 'node:net';
import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os';
import { type Address, unmapIPv4 } from './address';
import { socketFd } from './native/fanoutAddon';

/** 0.0.0.0, ::, and the other spellings of the IPv6 wildcard. */
export function isWildcard(bind: string): boolean {
  return bind === '0.0.0.0' || (isIPv6(bind) && /^[0:]+$/.test(bind));
}

/**
 * The addresses that get a socket of their own under wildcard `bind`: every IPv4
 * address for 0.0.0.0; for ::, IPv6 ones too (it is dual-stack). IPv6 link-local
 * addresses are left to the wildcard: binding one needs its interface's scope id, no
 * candidate names one (PUBLIC_IPS and the host's candidates are routable addresses),
 * and the kernel answers a link-local peer from the link-local address of the same
 * interface anyway.
 */
export function localAddresses(bind: string, interfaces: NodeJS.Dict<NetworkInterfaceInfo[]>): string[] {
  const found = new Set<string>();
  for (const info of Object.values(interfaces).flat()) {
    if (info === undefined) continue;
    if (info.family === 'IPv4' || (isIPv6(bind) && !/^fe[89ab]/i.test(info.address))) found.add(info.address);
  }
  return [...found];
}

/** New local addresses are looked for at most this often (when sessions are created). */
const RESCAN_INTERVAL_MS = 1_000;

/** Large buffers absorb bursts of keyframes fanned out to many viewers. */
const SOCKET_BUFFER_BYTES = 8 * 1024 * 1024;

/**
 * Every destination is an IP literal from a packet we received; Node would still
 * pass each send through dns.lookup and a nextTick. This answers at once.
 */
function literalLookup(address: string, family: unknown, callback: (error: Error | null, address: string, family: number) => void): void {
  void family;
  callback(null, address, isIPv6(address) ? 6 : 4);
}

interface LocalSocket {
  socket: dgram.Socket;
  /** A dual-stack IPv6 socket reaches IPv4 peers at ::ffff:a.b.c.d. */
  dualStack: boolean;
}

/** Where a datagram to a peer leaves from (a socket's fd) and what it is addressed to. */
export interface OutboundRoute {
  fd: number;
  /** An IP literal as the socket takes it (an IPv4 peer of a dual-stack socket as ::ffff:a.b.c.d). */
  host: string;
  port: number;
}

/** A dual-stack IPv6 socket reaches IPv4 peers at ::ffff:a.b.c.d. */
function destinationHost(via: LocalSocket, to: Address): string {
  return via.dualStack && !isIPv6(to.address) ? `::ffff:${to.address}` : to.address;
}

export class LocalSockets {
  /** By the local address each is bound to, the wildcard (or the specific BIND) included. */
  private readonly sockets = new Map<string, LocalSocket>();
  /** Replies to datagrams that came through the wildcard, and packets with no local address, leave here. */
  private primary: LocalSocket | undefined;
  private readonly binding = new Set<string>();
  private lastScan = 0;
  private closed = false;
  private boundPort: number;
  /** Told of a socket's fd just before it closes (the number may then be reused by the OS). */
  private readonly retireListeners = new Set<(fd: number) => void>();

  constructor(
    private readonly bind: string,
    port: number,
    private readonly onDatagram: (packet: Buffer, from: Address) => void,
    /** The host's interfaces as os.networkInterfaces() reports them (a test gives its own). */
    private readonly interfaces: () => NodeJS.Dict<NetworkInterfaceInfo[]> = networkInterfaces,
  ) {
    this.boundPort = port;
  }

  get port(): number {
    return this.boundPort;
  }

  /** Binds the port; resolves with its number. */
  async listen(): Promise<number> {
    const wildcard = isWildcard(this.bind);
    if (wildcard) {
      // SO_REUSEADDR would let us share the port with another program that sets it too
      // (a second onecast, say): binding the wildcard without it first fails, as
      // before, when anything else holds the port on any address.
      const probe = await this.open(this.bind, false);
      this.boundPort = probe.socket.address().port;
      await new Promise<void>((resolve) => probe.socket.close(() => resolve()));
    }
    const primary = await this.open(this.bind, wildcard);
    this.boundPort = primary.socket.address().port;
    this.sockets.set(this.bind, primary);
    this.primary = primary;
    if (wildcard) await this.rescan(Date.now());
    return this.boundPort;
  }

  /** Binds sockets for local addresses that appeared since the last look (at most once a second). */
  refresh(now = Date.now()): void {
    if (this.primary === undefined || !isWildcard(this.bind) || now - this.lastScan < RESCAN_INTERVAL_MS) return;
    // A look that fails (the interface list unreadable) changes nothing: the wildcard still serves.
    this.rescan(now).catch(() => undefined);
  }

  /** Sends from the socket of `to.local` when there is one, else from the primary socket; false once closed. */
  send(packet: Buffer, to: Address): boolean {
    const via = this.socketFor(to);
    if (via === undefined) return false;
    via.socket.send(packet, to.port, destinationHost(via, to));
    return true;
  }

  /**
   * The same choice as send() as a file descriptor and a destination, for the native fan-out
   * that sends on the socket itself; undefined once closed or where the fd cannot be had.
   */
  routeFor(to: Address): OutboundRoute | undefined {
    const via = this.socketFor(to);
    const fd = via !== undefined ? socketFd(via.socket) : undefined;
    if (via === undefined || fd === undefined) return undefined;
    return { fd, host: destinationHost(via, to), port: to.port };
  }

  /** Whether routeFor() can give file descriptors here (this Node keeps them where socketFd looks). */
  get routable(): boolean {
    return this.primary !== undefined && socketFd(this.primary.socket) !== undefined;
  }

  /**
   * Calls `listener` with the fd of each socket about to close, while it is still open:
   * whoever sends on fds from routeFor() stops using that one before the OS may reuse it.
   */
  onRetire(listener: (fd: number) => void): void {
    this.retireListeners.add(listener);
  }

  private retire(socket: dgram.Socket, done?: () => void): void {
    const fd = socketFd(socket);
    if (fd !== undefined) for (const listener of this.retireListeners) listener(fd);
    socket.close(done);
  }

  private socketFor(to: Address): LocalSocket | undefined {
    return (to.local !== undefined ? this.sockets.get(to.local) : undefined) ?? this.primary;
  }

  async close(): Promise<void> {
    this.closed = true;
    const sockets = [...this.sockets.values()];
    this.sockets.clear();
    this.primary = undefined;
    await Promise.all(sockets.map(({ socket }) => new Promise<void>((resolve) => this.retire(socket, resolve))));
  }

  /** Opens sockets for new local addresses and closes those whose address went away. */
  private async rescan(now: number): Promise<void> {
    this.lastScan = now;
    const current = localAddresses(this.bind, this.interfaces());
    for (const [address, { socket }] of this.sockets) {
      if (address !== this.bind && !current.includes(address)) {
        this.sockets.delete(address);
        this.retire(socket);
      }
    }
    const fresh = current.filter((a) => !this.sockets.has(a) && !this.binding.has(a));
    await Promise.all(
      fresh.map(async (address) => {
        this.binding.add(address);
        try {
          this.sockets.set(address, await this.open(address, true, address));
        } catch {
          // E.g. an IPv6 address still in duplicate address detection: the wildcard serves it meanwhile.
        } finally {
          this.binding.delete(address);
        }
      }),
    );
  }

  /**
   * A socket bound on the port at `address`, feeding onDatagram. Datagrams through the
   * primary socket carry no `local`: packets without one leave from it anyway.
   */
  private async open(address: string, reuseAddr: boolean, local?: string): Promise<LocalSocket> {
    const v6 = isIPv6(address);
    const socket = dgram.createSocket({ type: v6 ? 'udp6' : 'udp4', ipv6Only: false, reuseAddr, lookup: literalLookup });
    if (local === undefined) {
      socket.on('message', (msg, rinfo) => this.onDatagram(msg, { address: unmapIPv4(rinfo.address), port: rinfo.port }));
    } else {
      socket.on('message', (msg, rinfo) => this.onDatagram(msg, { address: unmapIPv4(rinfo.address), port: rinfo.port, local }));
    }
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        socket.bind(this.boundPort, address, () => {
          socket.off('error', reject);
          resolve();
        });
      });
    } catch (error) {
      socket.close();
      throw error;
    }
    // A send error (e.g. ICMP port unreachable surfacing as ECONNREFUSED) concerns one
    // peer; it must not take the socket or the process down.
    socket.on('error', () => {});
    try {
      socket.setRecvBufferSize(SOCKET_BUFFER_BYTES);
      socket.setSendBufferSize(SOCKET_BUFFER_BYTES);
    } catch {
      // The kernel may cap these; the defaults still work.
    }
    if (this.closed) {
      socket.close();
      throw new Error('the mux closed while a socket was binding');
    }
    return { socket, dualStack: v6 && isWildcard(address) };
  }
}
