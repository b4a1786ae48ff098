// The one UDP port (localSockets.ts holds its sockets). Every datagram is classified
// by its first byte (RFC 7983); STUN goes to the ICE-lite responder, which binds
// verified addresses to sessions;
// DTLS and SRTP/SRTCP go to the session bound to their source address. Anything
// else is dropped and counted by reason.
import { classify } from './demux';
import { type Address, addressKey } from './address';
import { LocalSockets, type OutboundRoute } from './localSockets';
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

export class UdpMux {
  readonly counters: MuxCounters = { datagramsIn: 0, bytesIn: 0, datagramsOut: 0, bytesOut: 0, stunAnswered: 0, dropped: emptyDropCounters() };
  private readonly sockets: LocalSockets;
  private readonly byUfrag = new Map<string, Session>();
  private readonly byAddress = new Map<string, Session>();

  constructor(bind: string, port: number) {
    this.sockets = new LocalSockets(bind, port, (packet, from) => this.onDatagram(packet, from));
  }

  /** Binds UDP_PORT (port 0: any free one) on every socket; resolves with its number. */
  listen(): Promise<number> {
    return this.sockets.listen();
  }

  get localPort(): number {
    return this.sockets.port;
  }

  /** Makes a session reachable by its ufrag; its addresses are bound as its checks verify. */
  add(session: Session): void {
    // Its checks may name an address the host gained since the last session.
    this.sockets.refresh();
    this.byUfrag.set(session.localUfrag, session);
  }

  /** A closed session: its ufrag and addresses lead nowhere any more. */
  remove(session: Session): void {
    if (this.byUfrag.get(session.localUfrag) === session) this.byUfrag.delete(session.localUfrag);
    this.unbind(session.boundAddresses(), session);
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

  /** Sends from the socket `to.local` names (the one the peer's check arrived at), if any. */
  send(packet: Buffer, to: Address): void {
    if (!this.sockets.send(packet, to)) return;
    this.counters.datagramsOut++;
    this.counters.bytesOut += packet.length;
  }

  /** Where datagrams to `to` leave from, for the native fan-out (see LocalSockets.routeFor). */
  routeFor(to: Address): OutboundRoute | undefined {
    return this.sockets.routeFor(to);
  }

  /** See LocalSockets.routable. */
  get routable(): boolean {
    return this.sockets.routable;
  }

  /** See LocalSockets.onRetire. */
  onRetire(listener: (fd: number) => void): void {
    this.sockets.onRetire(listener);
  }

  /** Unbinds addresses whose checks stopped, so a session holds only live paths. */
  unbind(addresses: readonly Address[], session: Session): void {
    for (const a of addresses) {
      const key = addressKey(a);
      if (this.byAddress.get(key) === session) this.byAddress.delete(key);
    }
  }

  close(): Promise<void> {
    return this.sockets.close();
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
    const { added, evicted } = session.onVerifiedCheck(from, request.useCandidate, request.remoteUfrag);
    this.unbind(evicted, session);
    if (added) {
      const key = addressKey(from);
      const previous = this.byAddress.get(key);
      // The peer proved it holds this session's password from here: the address is now its.
      if (previous !== undefined && previous !== session) previous.forgetAddress(from);
      this.byAddress.set(key, session);
    }
    this.counters.stunAnswered++;
    this.send(bindingSuccess(request.transactionId, from.address, from.port, session.localPassword), from);
  }
}
