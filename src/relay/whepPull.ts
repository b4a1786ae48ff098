// One relay's pull of a room from its upstream node, server to server, as a browser would
// play it: the WHEP POST of a recvonly offer (Bearer: the relay's credential), full ICE as
// the controlling agent against the upstream's ICE-lite host candidate, the DTLS client
// handshake (the certificate checked against the answer's a=fingerprint), then SRTP in and
// SRTCP both ways, on an ephemeral UDP socket of its own connected to the upstream's port.
// It is the edge room's publisher session (sfu/publisherSession.ts): decrypted RTP and RTCP
// leave as events, the room's feedback (NACK, PLI, RR, REMB) goes back through sendRtcp.
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { EventEmitter } from 'node:events';
import { isIPv4 } from 'node:net';
import type { DtlsClient } from 'werift';
import type { CallbackTransport } from '../engine/dtls/dtlsEndpoint';
import { safeEmit } from '../engine/safeEmit';
import type { CloseReason, SessionCounters, SessionEvents, SessionState } from '../engine/session';
import { SrtpContext } from '../engine/srtp/srtpContext';
import type { Logger } from '../log';
import type { NegotiatedMedia } from '../sdp/types';
import type { Upstream } from '../signaling/upstream';
import { clientCertificate } from './clientCertificate';
import { beforeDeadline, connectUdp } from './clientTransport';
import { endHandshake, startHandshake } from './dtlsClient';
import { CONSENT_INTERVAL_MS, ICE_CHECK_INTERVAL_MS, IceChecks } from './iceChecks';
import { relayedMedia, relayOffer } from './relayMedia';
import { MAX_ANSWER_LENGTH, parseAnswer, type ParsedAnswer } from './sdp';
import { eventsUrl, followUpstream } from './upstreamEvents';

/** No verified answer to our consent checks for this long: the upstream is gone (RFC 7675 uses 30 s; a relay's viewers should not wait that long). */
const CONSENT_TIMEOUT_MS = 10_000;
/** How long the DELETE of the upstream session may take when the relay closes. */
const DELETE_TIMEOUT_MS = 3_000;
/** The pull's socket receive buffer: a room's keyframe bursts whole. */
const RECEIVE_BUFFER_BYTES = 4 * 1024 * 1024;
/** The smallest datagram of each kind that can be what it claims: STUN header, DTLS record header, RTP header, RTCP header. */
const MIN_LENGTH = { stun: 20, dtls: 13, rtp: 12, rtcp: 8 } as const;

/** Why a pull failed: the step, and for a refused POST its status (and Retry-After). */
export class PullError extends Error {
  override readonly name = 'PullError';
  constructor(
    message: string,
    readonly step: 'http' | 'ice' | 'dtls',
    readonly status?: number,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}

/** Datagrams the pull did not take, by why (besides the session's srtpAuthFailures). */
export interface PullDrops {
  /** Too short for what its first byte says, or a first byte no protocol here uses. */
  malformed: number;
  /** STUN that is not a verified answer to one of our checks. */
  unverifiedStun: number;
  /** Dropped by the test hook (a loss made on purpose). */
  injected: number;
}

export interface WhepPullOptions {
  upstream: Upstream;
  log: Logger;
  /** A test's loss: true drops the SRTP datagram before it is decrypted. */
  dropDatagram?: (datagram: Buffer) => boolean;
}

/** Reads the answer of a 201: its text, bounded. */
async function answerText(res: Response): Promise<string> {
  const declared = Number(res.headers.get('content-length') ?? 0);
  if (declared > MAX_ANSWER_LENGTH) throw new Error(`the answer is ${declared} bytes, more than ${MAX_ANSWER_LENGTH}`);
  return res.text();
}

export class WhepPull extends EventEmitter<SessionEvents> {
  readonly id = randomBytes(16).toString('hex');
  readonly createdAt = Date.now();
  /** The upstream node (see PublisherSession). */
  readonly relayedFrom: string;
  readonly drops: PullDrops = { malformed: 0, unverifiedStun: 0, injected: 0 };
  private readonly own: SessionCounters = { rtpPackets: 0, rtcpPackets: 0, bytesIn: 0, srtpAuthFailures: 0, packetsOut: 0, bytesOut: 0 };
  private _state: SessionState = 'new';
  private _connectedAt: number | undefined;
  private readonly ufrag = randomBytes(4).toString('hex');
  private readonly pwd = randomBytes(16).toString('hex');
  private readonly socket = dgram.createSocket({ type: 'udp4' });
  private socketOpen = false;
  /** The upstream's session resource (absolute), for the DELETE. */
  private resource: string | undefined;
  private ice: IceChecks | undefined;
  private lastConsent = 0;
  private checkTimer: NodeJS.Timeout | undefined;
  private dtls: DtlsClient | undefined;
  private dtlsTransport: CallbackTransport | undefined;
  private srtp: SrtpContext | undefined;
  private iceAnswered: (() => void) | undefined;
  /** The upstream's WHEP events extension, when its 201 announced one. */
  private events: string | undefined;
  /** Ends the following of those events. */
  private readonly stopFollowing = new AbortController();
  /** Rejects connect() at once when the pull is closed while it runs. */
  private abortConnect: ((error: Error) => void) | undefined;
  private readonly log: Logger;

  constructor(private readonly options: WhepPullOptions) {
    super();
    this.relayedFrom = options.upstream.nodeId;
    this.log = options.log.child({ upstream: options.upstream.nodeId, pull: this.id });
  }

  get state(): SessionState {
    return this._state;
  }

  get connectedAt(): number | undefined {
    return this._connectedAt;
  }

  get srtpProfile(): string | undefined {
    return this.srtp?.profileName;
  }

  get counters(): Readonly<SessionCounters> {
    return this.own;
  }

  /** The upstream session's URL (for logs and tests); undefined before the POST answered. */
  get resourceUrl(): string | undefined {
    return this.resource;
  }

  /**
   * The WHEP POST: resolves with the media the upstream will send (the edge room's
   * publisher is made from it); rejects with a PullError when it refuses or times out.
   */
  async request(timeoutMs: number): Promise<{ media: NegotiatedMedia[]; answer: ParsedAnswer }> {
    const { url, token } = this.options.upstream;
    const certificate = await clientCertificate();
    let res: Response;
    try {
      res = await fetch(url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/sdp', Authorization: `Bearer ${token}` },
        body: relayOffer({ ufrag: this.ufrag, pwd: this.pwd }, certificate.fingerprint),
        signal: AbortSignal.timeout(timeoutMs),
        redirect: 'follow',
      });
    } catch (error) {
      throw new PullError(`WHEP POST ${url} failed: ${(error as Error).message}`, 'http');
    }
    if (res.status !== 201) {
      await res.body?.cancel().catch(() => {});
      const retryAfter = Number(res.headers.get('retry-after') ?? NaN);
      throw new PullError(`WHEP POST ${url} answered ${res.status}`, 'http', res.status, Number.isFinite(retryAfter) ? retryAfter : undefined);
    }
    const location = res.headers.get('location');
    if (location !== null) this.resource = new URL(location, url).toString();
    this.events = eventsUrl(res.headers.get('link'), url);
    try {
      const answer = parseAnswer(await answerText(res));
      if (location === null) throw new Error('201 without a Location header');
      return { media: relayedMedia(answer), answer };
    } catch (error) {
      throw new PullError(`WHEP POST ${url}: unusable answer: ${(error as Error).message}`, 'http', 201);
    }
  }

  /**
   * ICE, DTLS and SRTP toward the answer's candidate: resolves once media can flow
   * ('connected' emitted), rejects with a PullError at `deadline` (performance.now()).
   */
  async connect(answer: ParsedAnswer, deadline: number): Promise<void> {
    const aborted = new Promise<never>((_, reject) => (this.abortConnect = reject));
    aborted.catch(() => {});
    try {
      await Promise.race([this.handshake(answer, deadline), aborted]);
    } finally {
      this.abortConnect = undefined;
    }
  }

  private async handshake(answer: ParsedAnswer, deadline: number): Promise<void> {
    const host = new URL(this.options.upstream.url).hostname;
    const candidate = answer.candidates.find((c) => c.ip === host) ?? answer.candidates.find((c) => isIPv4(c.ip))!;
    await connectUdp(this.socket, candidate.ip, candidate.port);
    // close() ran meanwhile (and closed the socket).
    if (this.isClosed()) throw new PullError('the relay closed while connecting', 'ice');
    this.socketOpen = true;
    // ICMP port unreachable arrives as ECONNREFUSED on a connected socket: consent decides, not this.
    this.socket.on('error', () => {});
    try {
      // A keyframe comes as one burst (~100 packets here): the default 208 KB buffer overflowed
      // with it on loopback, losing its tail (recovered by NACK, but late).
      this.socket.setRecvBufferSize(RECEIVE_BUFFER_BYTES);
    } catch {
      // the kernel's cap (net.core.rmem_max) applies
    }
    this.socket.on('message', (data: Buffer) => this.onDatagram(data));
    const ice = new IceChecks(this.ufrag, { ufrag: answer.iceUfrag, pwd: Buffer.from(answer.icePwd, 'utf8') });
    this.ice = ice;
    const where = `${candidate.ip}:${candidate.port}`;

    await beforeDeadline(
      new Promise<void>((resolve) => {
        this.iceAnswered = resolve;
        this.check();
        this.checkTimer = setInterval(() => this.check(), ICE_CHECK_INTERVAL_MS);
      }),
      deadline,
      () => new PullError(`ICE to ${where} did not succeed in time`, 'ice'),
    );
    clearInterval(this.checkTimer);
    this.checkTimer = setInterval(() => this.keepConsent(), CONSENT_INTERVAL_MS);
    this.checkTimer.unref();
    this._state = 'ice-connected';

    const certificate = await clientCertificate();
    const handshake = startHandshake(certificate, answer.fingerprint, (data) => this.send(data));
    this.dtls = handshake.client;
    this.dtlsTransport = handshake.transport;
    const keyed = await beforeDeadline(
      handshake.keyed.catch((error: unknown) => {
        throw new PullError(`DTLS with ${where}: ${(error as Error).message}`, 'dtls');
      }),
      deadline,
      () => new PullError(`DTLS with ${where} did not complete in time`, 'dtls'),
    );
    if (this.isClosed()) throw new PullError('the relay closed while connecting', 'dtls');
    this.srtp = new SrtpContext(keyed.keys);
    // The upstream's close_notify (its session ended: DELETE, shutdown, consent) ends the pull.
    handshake.client.onClose.subscribe(() => this.close('dtls-closed', 'the upstream closed DTLS'));
    this._state = 'connected';
    this._connectedAt = Date.now();
    this.log.info('relay connected', { srtp: this.srtp.profileName, address: where });
    safeEmit(this, 'connected');
    if (this.events !== undefined) this.follow(this.events);
  }

  /** The upstream's publish ending ends the pull: the edge's room goes inactive with it (its viewers stay). */
  private follow(entry: string): void {
    const inactive = (): void => this.close('deleted', 'the upstream publish ended');
    followUpstream(entry, this.options.upstream.token, this.stopFollowing.signal, inactive).then(
      // The stream ends with the upstream session it belongs to (a DELETE there, its consent, a shutdown):
      // sooner than this pull's consent checks would tell.
      (ended) => {
        if (ended) this.close('dtls-closed', 'the upstream ended the session (its event stream ended)');
      },
      (error: unknown) => {
        if (!this.isClosed()) this.log.info('relay: cannot follow the upstream events', { error: String(error) });
      },
    );
  }

  /** A method, not a property: close() may run during any await of the connect. */
  private isClosed(): boolean {
    return this._state === 'closed';
  }

  sendRtcp(packet: Buffer): boolean {
    if (this.srtp === undefined || this._state !== 'connected') return false;
    return this.send(this.srtp.protectRtcp(packet));
  }

  /** Ends the pull (once): timers and DTLS stop, the upstream session is DELETEd in the background, 'closed' is told. */
  close(reason: CloseReason, failure?: string): void {
    if (this._state === 'closed') return;
    this._state = 'closed';
    clearInterval(this.checkTimer);
    this.iceAnswered = undefined;
    this.stopFollowing.abort();
    this.abortConnect?.(new PullError(`the relay closed (${reason}) while connecting`, this.dtls !== undefined ? 'dtls' : 'ice'));
    if (this.dtls !== undefined) endHandshake(this.dtls);
    this.srtp = undefined;
    // Bound or not (a POST that failed), its handle goes.
    this.socket.close();
    this.socketOpen = false;
    if (this.resource !== undefined) void this.deleteUpstream(this.resource);
    this.log.info('relay closed', { reason, ...(failure !== undefined ? { failure } : {}), packetsIn: this.own.rtpPackets, drops: this.drops });
    try {
      safeEmit(this, 'closed', reason);
    } finally {
      this.removeAllListeners();
    }
  }

  private async deleteUpstream(resource: string): Promise<void> {
    try {
      const res = await fetch(resource, {
        method: 'DELETE',
        headers: { Authorization: `Bearer ${this.options.upstream.token}` },
        signal: AbortSignal.timeout(DELETE_TIMEOUT_MS),
      });
      await res.body?.cancel();
    } catch (error) {
      // The upstream ends the session by itself once consent stops (30 s).
      this.log.warn('relay: DELETE of the upstream session failed', { resource, error: String(error) });
    }
  }

  private check(): void {
    if (this.ice !== undefined) this.send(this.ice.request());
  }

  /** A consent check every CONSENT_INTERVAL_MS; none answered for CONSENT_TIMEOUT_MS ends the pull. */
  private keepConsent(): void {
    if (Date.now() - this.lastConsent > CONSENT_TIMEOUT_MS) return this.close('consent-expired', 'the upstream stopped answering consent checks');
    this.check();
  }

  private send(data: Buffer): boolean {
    if (!this.socketOpen) return false;
    this.own.packetsOut++;
    this.own.bytesOut += data.length;
    this.socket.send(data);
    return true;
  }

  /** One datagram from the upstream's port (the connected socket takes no other source), sorted by its first byte (RFC 7983). */
  private onDatagram(data: Buffer): void {
    if (this._state === 'closed') return;
    const b0 = data.length > 0 ? data[0]! : -1;
    if (b0 >= 128 && b0 <= 191) {
      const rtcp = data.length >= 2 && data[1]! >= 192 && data[1]! <= 223;
      if (data.length < (rtcp ? MIN_LENGTH.rtcp : MIN_LENGTH.rtp)) return void this.drops.malformed++;
      if (rtcp) this.receiveRtcp(data);
      else this.receiveRtp(data);
    } else if (b0 >= 20 && b0 <= 63) {
      if (data.length < MIN_LENGTH.dtls) return void this.drops.malformed++;
      this.dtlsTransport?.onData(data);
    } else if (b0 >= 0 && b0 <= 3) {
      if (data.length < MIN_LENGTH.stun || this.ice === undefined || !this.ice.isAnswer(data)) return void this.drops.unverifiedStun++;
      this.lastConsent = Date.now();
      const answered = this.iceAnswered;
      this.iceAnswered = undefined;
      answered?.();
    } else {
      this.drops.malformed++;
    }
  }

  private receiveRtp(data: Buffer): void {
    if (this.srtp === undefined) return;
    if (this.options.dropDatagram?.(data) === true) return void this.drops.injected++;
    const plain = this.srtp.unprotectRtp(data);
    if (plain === undefined) return void this.own.srtpAuthFailures++;
    this.own.rtpPackets++;
    this.own.bytesIn += data.length;
    this.emit('rtp', plain);
  }

  private receiveRtcp(data: Buffer): void {
    if (this.srtp === undefined) return;
    const plain = this.srtp.unprotectRtcp(data);
    if (plain === undefined) return void this.own.srtpAuthFailures++;
    this.own.rtcpPackets++;
    this.own.bytesIn += data.length;
    this.emit('rtcp', plain);
  }
}
