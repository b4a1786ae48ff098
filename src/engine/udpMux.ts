// The one UDP socket. Every datagram is classified by its first byte (RFC 7983);
// STUN goes to the ICE-lite responder, which binds verified addresses to sessions;
// DTLS and SRTP/SRTCP go to the session bound to their source address. Anything
// else is dropped and counted by reason.
import dgram from 'node:dgram';
import { isIPv6 } from 'node:net';
import { classify } from './demux';
import { type Address, addressKey, unmapIPv4 } from './address';
import { bindingSuccess, parseBindingRequest, verifyIntegrity } from './ice/stun';
import type { Session } from './session';

export type DropReason =
  | 'unknown-protocol'
  | 'stun-malformed'
  | 'stun-not-binding-request'
  | 'stun-no-fingerprint'
  | 'stun-bad-fingerprint'
  | 'stun-no-username'
  | 'stun-no-integrity'
  | 'stun-unknown-ufrag'
  | 'stun-bad-integrity'
  | 'unbound-address'
  | 'dtls-malformed'
  | 'dtls-over-limit'
  | 'srtp-auth-failed'
  | 'not-connected';

export interface MuxCounters {
  datagramsIn: number;
  bytesIn: number;
  datagramsOut: number;
  bytesOut: number;
  stunAnswered: number;
  dropped: Record<DropReason, number>;
}

function emptyDropCounters(): Record<DropReason, number> {
  return {
    'unknown-protocol': 0,
    'stun-malformed': 0,
    'stun-not-binding-request': 0,
    'stun-no-fingerprint': 0,
    'stun-bad-fingerprint': 0,
    'stun-no-username': 0,
    'stun-no-integrity': 0,
    'stun-unknown-ufrag': 0,
    'stun-bad-integrity': 0,
    'unbound-address': 0,
    'dtls-malformed': 0,
    'dtls-over-limit': 0,
    'srtp-auth-failed': 0,
    'not-connected': 0,
  };
}

/**
 * Every destination is an IP literal from a packet we received; Node would still
 * pass each send through dns.lookup and a nextTick. This answers at once.
 */
function literalLookup(address: string, family: unknown, callback: (error: Error | null, address: string, family: number) => void): void {
  void family;
  callback(null, address, isIPv6(address) ? 6 : 4);
}

export class UdpMux {
  readonly counters: MuxCounters = { datagramsIn: 0, bytesIn: 0, datagramsOut: 0, bytesOut: 0, stunAnswered: 0, dropped: emptyDropCounters() };
  private socket: dgram.Socket | undefined;
  private readonly byUfrag = new Map<string, Session>();
  private readonly byAddress = new Map<string, Session>();
  private readonly v6: boolean;

  constructor(private readonly bind: string, private readonly port: number) {
    this.v6 = isIPv6(bind);
  }

  async listen(): Promise<number> {
    const socket = dgram.createSocket({ type: this.v6 ? 'udp6' : 'udp4', ipv6Only: false, lookup: literalLookup });
    this.socket = socket;
    socket.on('message', (msg, rinfo) => this.onDatagram(msg, { address: unmapIPv4(rinfo.address), port: rinfo.port }));
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(this.port, this.bind, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    // A send error (e.g. ICMP port unreachable surfacing as ECONNREFUSED) concerns one
    // peer; it must not take the socket or the process down.
    socket.on('error', () => {});
    // Large buffers absorb bursts of keyframes fanned out to many viewers.
    try {
      socket.setRecvBufferSize(8 * 1024 * 1024);
      socket.setSendBufferSize(8 * 1024 * 1024);
    } catch {
      // The kernel may cap these; the defaults still work.
    }
    return socket.address().port;
  }

  get localPort(): number {
    return this.socket?.address().port ?? this.port;
  }

  /** Makes a session reachable by its ufrag; its addresses are bound as its checks verify. */
  add(session: Session): void {
    this.byUfrag.set(session.localUfrag, session);
    session.once('closed', () => this.remove(session));
  }

  /** After an ICE restart: checks must now name the session's new ufrag. */
  reindex(session: Session, previousUfrag: string): void {
    if (this.byUfrag.get(previousUfrag) === session) this.byUfrag.delete(previousUfrag);
    if (!session.closed) this.byUfrag.set(session.localUfrag, session);
  }

  /** Number of addresses currently routed to sessions (for tests and metrics). */
  get boundAddressCount(): number {
    return this.byAddress.size;
  }

  /** Number of ufrags checks can name (one per live session; for tests and metrics). */
  get ufragCount(): number {
    return this.byUfrag.size;
  }

  send(packet: Buffer, to: Address): void {
    const socket = this.socket;
    if (socket === undefined) return;
    this.counters.datagramsOut++;
    this.counters.bytesOut += packet.length;
    const host = this.v6 && !isIPv6(to.address) ? `::ffff:${to.address}` : to.address;
    socket.send(packet, to.port, host);
  }

  /** Unbinds addresses whose checks stopped, so a session holds only live paths. */
  unbind(addresses: readonly Address[], session: Session): void {
    for (const a of addresses) {
      const key = addressKey(a);
      if (this.byAddress.get(key) === session) this.byAddress.delete(key);
    }
  }

  async close(): Promise<void> {
    const socket = this.socket;
    this.socket = undefined;
    if (socket !== undefined) await new Promise<void>((resolve) => socket.close(() => resolve()));
  }

  private remove(session: Session): void {
    if (this.byUfrag.get(session.localUfrag) === session) this.byUfrag.delete(session.localUfrag);
    this.unbind(session.boundAddresses(), session);
  }

  private drop(reason: DropReason): void {
    this.counters.dropped[reason]++;
  }

  private onDatagram(packet: Buffer, from: Address): void {
    this.counters.datagramsIn++;
    this.counters.bytesIn += packet.length;
    switch (classify(packet)) {
      case 'stun':
        this.onStun(packet, from);
        return;
      case 'dtls': {
        const session = this.byAddress.get(addressKey(from));
        if (session === undefined) return this.drop('unbound-address');
        const verdict = session.receiveDtls(packet, from);
        if (verdict !== 'accepted') this.drop(verdict);
        return;
      }
      case 'rtp': {
        const session = this.byAddress.get(addressKey(from));
        if (session === undefined) return this.drop('unbound-address');
        if (session.state !== 'connected') return this.drop('not-connected');
        if (!session.receiveRtp(packet)) this.drop('srtp-auth-failed');
        return;
      }
      case 'rtcp': {
        const session = this.byAddress.get(addressKey(from));
        if (session === undefined) return this.drop('unbound-address');
        if (session.state !== 'connected') return this.drop('not-connected');
        if (!session.receiveRtcp(packet)) this.drop('srtp-auth-failed');
        return;
      }
      case 'unknown':
        this.drop('unknown-protocol');
        return;
    }
  }

  /** ICE-lite: answer and bind only what verifies with the named session's password. */
  private onStun(packet: Buffer, from: Address): void {
    const parsed = parseBindingRequest(packet);
    if (!parsed.ok) {
      // Responses and indications (e.g. a peer's keepalive) are not ours to answer.
      const reason = parsed.reason === 'not-stun' ? 'stun-malformed' : `stun-${parsed.reason}`;
      this.drop(reason as DropReason);
      return;
    }
    const { request } = parsed;
    const session = this.byUfrag.get(request.localUfrag);
    if (session === undefined || session.closed) return this.drop('stun-unknown-ufrag');
    if (!verifyIntegrity(packet, session.localPassword)) return this.drop('stun-bad-integrity');
    // Bind before answering: the peer's DTLS ClientHello follows the response at once.
    const { added, evicted } = session.onVerifiedCheck(from, request.useCandidate);
    this.unbind(evicted, session);
    if (added) {
      const key = addressKey(from);
      const previous = this.byAddress.get(key);
      // The peer proved it holds this session's password from here: the address is now its.
      if (previous !== undefined && previous !== session) previous.forgetAddress(from);
      this.byAddress.set(key, session);
    }
    if (session.remoteUfrag === undefined) session.remoteUfrag = request.remoteUfrag;
    this.counters.stunAnswered++;
    this.send(bindingSuccess(request.transactionId, from.address, from.port, session.localPassword), from);
  }
}
