// One WebRTC peer as the engine sees it: ICE-lite credentials, the addresses its
// verified STUN checks came from, its DTLS server and SRTP keys. It knows nothing
// of rooms: decrypted RTP and RTCP leave through events.
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import { DtlsEndpoint, type DtlsVerdict, type RemoteFingerprint } from './dtls/dtlsEndpoint';
import type { Certificate } from './dtls/certificate';
import { SrtpContext } from './srtp/srtpContext';
import type { Address } from './address';
import { addressKey } from './address';
import { safeEmit } from './safeEmit';

export type SessionState = 'new' | 'ice-connected' | 'connected' | 'closed';

export type CloseReason = 'deleted' | 'consent-expired' | 'ice-timeout' | 'dtls-failed' | 'dtls-closed' | 'dtls-timeout' | 'server-shutdown' | 'replaced';

export interface SessionEvents {
  /** DTLS is up and SRTP keys are in place: media can flow both ways. */
  connected: [];
  rtp: [packet: Buffer];
  rtcp: [packet: Buffer];
  /** Where this session's packets now go (undefined: nowhere until a check verifies again). */
  path: [to: Address | undefined];
  closed: [reason: CloseReason];
}

export interface SessionCounters {
  rtpPackets: number;
  rtcpPackets: number;
  bytesIn: number;
  srtpAuthFailures: number;
  packetsOut: number;
  bytesOut: number;
}

/** Our side's SRTP master key and salt, for an outbound path that encrypts outside the session. */
export interface OutboundSrtpKeys {
  profile: number;
  masterKey: Buffer;
  masterSalt: Buffer;
}

/** Datagrams sent for this session by someone else (the native fan-out), counted there. */
export type OutboundMeter = () => { packets: number; bytes: number };

export interface SessionOptions {
  /** Goes before the slash in the ufrag: the room, in ICE characters. */
  ufragPrefix: string;
  remoteUfrag: string | undefined;
  remoteFingerprints: readonly RemoteFingerprint[];
  certificate: Certificate;
  /** Sends a datagram through the UDP port, from the local address `to.local` names. */
  write(packet: Buffer, to: Address): void;
}

/** An address a verified STUN check came from. */
interface BoundAddress {
  address: Address;
  lastCheck: number;
}

/** How many addresses one session may hold at once (one per candidate pair it checks). */
const MAX_ADDRESSES = 8;

/** A nominated path that has been silent this long gives way to a fresher verified one (NAT rebinding). */
const STALE_PATH_MS = 6_000;

/** 144 random bits; base64 without padding uses only ICE characters. */
function newIcePassword(): string {
  return randomBytes(18).toString('base64');
}

/**
 * The ufrag's user part: 96 random bits of its own. Every STUN check carries the
 * ufrag in clear, so it must say nothing about the session id, which is the
 * secret in the resource URL (whoever knows it can PATCH the session).
 */
function newIceUser(): string {
  return randomBytes(12).toString('hex');
}

/**
 * A session's state changes only here, through what happens to it (a verified check,
 * DTLS keys, an ICE restart, close): the engine, the mux and the SFU read it.
 */
export class Session extends EventEmitter<SessionEvents> {
  /** 128 random bits, hex: unguessable; the resource URL's secret, never sent on the media port. */
  readonly id = randomBytes(16).toString('hex');
  readonly createdAt = Date.now();
  private _localUfrag: string;
  private _localPassword = newIcePassword();
  private _remoteUfrag: string | undefined;
  private _state: SessionState = 'new';
  private _srtpProfile: string | undefined;
  private _lastConsent: number;
  private _iceConnectedAt: number | undefined;
  private _connectedAt: number | undefined;
  private _failure: string | undefined;
  private readonly own: SessionCounters = { rtpPackets: 0, rtcpPackets: 0, bytesIn: 0, srtpAuthFailures: 0, packetsOut: 0, bytesOut: 0 };
  private readonly meters = new Set<OutboundMeter>();
  private _outboundKeys: OutboundSrtpKeys | undefined;

  private readonly addresses = new Map<string, BoundAddress>();
  /** Where this session's packets are sent: the nominated (or first) verified address. */
  private selected: BoundAddress | undefined;
  private readonly dtls: DtlsEndpoint;
  private srtp: SrtpContext | undefined;
  private readonly write: SessionOptions['write'];
  private readonly ufragPrefix: string;

  constructor(options: SessionOptions) {
    super();
    this.ufragPrefix = options.ufragPrefix;
    this._localUfrag = `${options.ufragPrefix}/${newIceUser()}`;
    this._remoteUfrag = options.remoteUfrag;
    this._lastConsent = this.createdAt;
    this.write = options.write;
    // The DTLS server exists before the first Binding Response leaves: libdatachannel
    // sends its ClientHello the instant its check succeeds and retries only after 1 s.
    this.dtls = new DtlsEndpoint(
      options.certificate,
      options.remoteFingerprints,
      (record) => this.send(record),
      (keys) => {
        if (this._state === 'closed') return;
        this.srtp = new SrtpContext(keys);
        this._outboundKeys = { profile: keys.profile, masterKey: keys.localMasterKey, masterSalt: keys.localMasterSalt };
        this._srtpProfile = this.srtp.profileName;
        this._state = 'connected';
        this._connectedAt = Date.now();
        safeEmit(this, 'connected');
      },
      (reason) => this.close('dtls-failed', reason),
    );
  }

  /** `room/user`, the user part random and unrelated to `id`; new on each ICE restart. */
  get localUfrag(): string {
    return this._localUfrag;
  }

  get localPassword(): string {
    return this._localPassword;
  }

  /** The peer's ufrag: from its offer, or (an offer without one) from its first verified check. */
  get remoteUfrag(): string | undefined {
    return this._remoteUfrag;
  }

  get state(): SessionState {
    return this._state;
  }

  get closed(): boolean {
    return this._state === 'closed';
  }

  get srtpProfile(): string | undefined {
    return this._srtpProfile;
  }

  /** What this session has received and sent, datagrams sent for it by an outbound meter included. */
  get counters(): Readonly<SessionCounters> {
    let packetsOut = this.own.packetsOut;
    let bytesOut = this.own.bytesOut;
    for (const meter of this.meters) {
      const m = meter();
      packetsOut += m.packets;
      bytesOut += m.bytes;
    }
    return { ...this.own, packetsOut, bytesOut };
  }

  /** Counts in `counters` what `meter` reports as sent for this session (for as long as the session lives). */
  addOutboundMeter(meter: OutboundMeter): void {
    this.meters.add(meter);
  }

  /** Our SRTP master key and salt once DTLS is up, for the native fan-out; undefined before and after. */
  get outboundKeys(): OutboundSrtpKeys | undefined {
    return this._state === 'connected' ? this._outboundKeys : undefined;
  }

  /** When the last verified STUN check arrived (consent freshness, RFC 7675). */
  get lastConsent(): number {
    return this._lastConsent;
  }

  /** When the first verified STUN check arrived: the DTLS handshake deadline runs from here. */
  get iceConnectedAt(): number | undefined {
    return this._iceConnectedAt;
  }

  get connectedAt(): number | undefined {
    return this._connectedAt;
  }

  /** Why it failed, when it did (for the log line that closes the session). */
  get failure(): string | undefined {
    return this._failure;
  }

  /** The addresses currently bound to this session (the mux routes them here). */
  boundAddresses(): Address[] {
    return [...this.addresses.values()].map((b) => b.address);
  }

  get selectedAddress(): Address | undefined {
    return this.selected?.address;
  }

  /**
   * A Binding Request from `from` has verified with this session's password.
   * Binds the address; returns the address it replaced, if the session moved.
   */
  onVerifiedCheck(from: Address, useCandidate: boolean, remoteUfrag: string, now = Date.now()): { added: boolean; evicted: Address[] } {
    const key = addressKey(from);
    let bound = this.addresses.get(key);
    const added = bound === undefined;
    const evicted: Address[] = [];
    if (bound === undefined) {
      bound = { address: from, lastCheck: now };
      this.addresses.set(key, bound);
      if (this.addresses.size > MAX_ADDRESSES) {
        const oldest = [...this.addresses.entries()].filter(([, b]) => b !== this.selected && b !== bound).sort((a, b) => a[1].lastCheck - b[1].lastCheck)[0];
        if (oldest !== undefined) {
          this.addresses.delete(oldest[0]);
          evicted.push(oldest[1].address);
        }
      }
    }
    bound.lastCheck = now;
    this._lastConsent = now;
    // A session created without the peer's ufrag learns it from its first verified check.
    this._remoteUfrag ??= remoteUfrag;
    if (this.selected === undefined || useCandidate || now - this.selected.lastCheck > STALE_PATH_MS) {
      // Later packets leave from the local address this check was sent to (see Address.local).
      const before = this.selected?.address;
      bound.address = from;
      this.selected = bound;
      if (before === undefined || addressKey(before) !== addressKey(from) || before.local !== from.local) safeEmit(this, 'path', from);
    }
    if (this._state === 'new') {
      this._state = 'ice-connected';
      this._iceConnectedAt = now;
    }
    return { added, evicted };
  }

  /** Addresses whose checks stopped longer ago than `maxAgeMs`, unbound here and returned for the mux. */
  expireAddresses(now: number, maxAgeMs: number): Address[] {
    const expired: Address[] = [];
    for (const [key, b] of this.addresses) {
      if (b !== this.selected && now - b.lastCheck > maxAgeMs) {
        this.addresses.delete(key);
        expired.push(b.address);
      }
    }
    return expired;
  }

  /**
   * ICE restart (RFC 8445 §9): new credentials on both sides; DTLS and SRTP carry
   * on. Addresses stay bound until checks with the new credentials replace them or
   * consent expires. Returns the ufrag it replaced, for the mux to re-index.
   */
  restartIce(remoteUfrag: string): string {
    const previous = this._localUfrag;
    this._localUfrag = `${this.ufragPrefix}/${newIceUser()}`;
    this._localPassword = newIcePassword();
    this._remoteUfrag = remoteUfrag;
    return previous;
  }

  /** Another session's verified check came from this address: it is no longer ours. */
  forgetAddress(a: Address): void {
    const key = addressKey(a);
    if (this.selected !== undefined && this.selected === this.addresses.get(key)) {
      this.selected = undefined;
      safeEmit(this, 'path', undefined);
    }
    this.addresses.delete(key);
  }

  /** DTLS from `from`, a bound address; the drop reason when it did not reach the handshake. */
  receiveDtls(datagram: Buffer, from: Address): DtlsVerdict {
    return this._state === 'closed' ? 'dtls-malformed' : this.dtls.receive(datagram, addressKey(from));
  }

  /** An SRTP packet from a bound address; false when it failed authentication. */
  receiveRtp(packet: Buffer): boolean {
    if (this.srtp === undefined) return false;
    const plain = this.srtp.unprotectRtp(packet);
    if (plain === undefined) {
      this.own.srtpAuthFailures++;
      return false;
    }
    this.own.rtpPackets++;
    this.own.bytesIn += packet.length;
    this.emit('rtp', plain);
    return true;
  }

  receiveRtcp(packet: Buffer): boolean {
    if (this.srtp === undefined) return false;
    const plain = this.srtp.unprotectRtcp(packet);
    if (plain === undefined) {
      this.own.srtpAuthFailures++;
      return false;
    }
    this.own.rtcpPackets++;
    this.own.bytesIn += packet.length;
    this.emit('rtcp', plain);
    return true;
  }

  /** Encrypts and sends a plain RTP packet; false until SRTP is up. */
  sendRtp(packet: Buffer): boolean {
    if (this.srtp === undefined || this._state !== 'connected') return false;
    return this.send(this.srtp.protectRtp(packet));
  }

  /** sendRtp for a packet given as header and payload: the forwarders' path. */
  sendRtpParts(header: Buffer, length: number, payload: Uint8Array): boolean {
    if (this.srtp === undefined || this._state !== 'connected') return false;
    return this.send(this.srtp.protectRtpParts(header, length, payload));
  }

  sendRtcp(packet: Buffer): boolean {
    if (this.srtp === undefined || this._state !== 'connected') return false;
    return this.send(this.srtp.protectRtcp(packet));
  }

  /** Ends the session (once); `failure` says what went wrong, for the log line that reports it. */
  close(reason: CloseReason, failure?: string): void {
    if (this._state === 'closed') return;
    this._state = 'closed';
    if (failure !== undefined) this._failure = failure;
    this.dtls.close();
    this.srtp = undefined;
    this._outboundKeys = undefined;
    this.selected = undefined;
    // Every owner's bookkeeping runs even if one listener throws (see safeEmit).
    try {
      safeEmit(this, 'closed', reason);
    } finally {
      this.removeAllListeners();
    }
  }

  private send(packet: Buffer): boolean {
    const to = this.selected?.address;
    if (to === undefined || this._state === 'closed') return false;
    this.own.packetsOut++;
    this.own.bytesOut += packet.length;
    this.write(packet, to);
    return true;
  }
}
