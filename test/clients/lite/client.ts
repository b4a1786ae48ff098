// A lightweight but real WebRTC endpoint for load generation and tests: one WHIP publisher or
// WHEP viewer per object, many per process. It does what a browser does on the wire — a
// WHIP/WHEP POST, ICE connectivity checks (full agent, controlling, aggressive nomination)
// against the server's ICE-lite host candidate, a DTLS client handshake whose certificate
// matches the offer's a=fingerprint, then SRTP/SRTCP with keys from the handshake — and
// nothing more: no encoder, no jitter buffer, no congestion control, no SCTP.
//
// Built from werift's pieces, driven with our own transport (a connected udp4 socket):
// the offer and answer, the checks, the handshake and SRTP keys are the relay's (src/relay/).
import { randomBytes, randomInt } from 'node:crypto';
import dgram from 'node:dgram';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { RtpHeader, type DtlsClient, type SrtcpSession, type SrtpSession } from 'werift';
import type { CallbackTransport } from '../../../src/engine/dtls/dtlsEndpoint';
import type { MediaKind } from '../../../src/rtp/mediaKind';
import { clientCertificate, type ClientCertificate } from '../../../src/relay/clientCertificate';
import { beforeDeadline, connectUdp } from '../../../src/relay/clientTransport';
import { DtlsClientError, endHandshake, startHandshake } from '../../../src/relay/dtlsClient';
import { CONSENT_INTERVAL_MS, ICE_CHECK_INTERVAL_MS, IceChecks } from '../../../src/relay/iceChecks';
import { buildOffer, parseAnswer, type ParsedAnswer } from '../../../src/relay/sdp';
import { describeProblem, LiteClientError } from './errors';

export interface LiteClientOptions {
  /** WHIP or WHEP endpoint, e.g. http://127.0.0.1:8080/whip/room1 or /whep/room1 */
  url: string;
  role: 'publish' | 'play';
  /** Sent as `Authorization: Bearer <token>` (POST and DELETE). */
  token?: string;
  /**
   * Default both. publish: H264 PT 96 + opus PT 111, sendonly, with a=ssrc lines;
   * play: H264 (42e01f, packetization-mode 1) PT 102 + opus PT 111, recvonly.
   */
  kinds?: MediaKind[];
  /** publish role: the SSRCs announced in the offer (random by default). */
  videoSsrc?: number;
  audioSsrc?: number;
  /** Whole connect (POST + ICE + DTLS) must finish within this; default 10 000 ms. */
  timeoutMs?: number;
}

export interface LiteClientTimings {
  /** ms from the start of connect() (after the shared certificate exists) to the POST's answer */
  postMs: number;
  /** ... to the first verified Binding success response */
  iceMs: number;
  /** ... to DTLS done and SRTP keyed */
  dtlsMs: number;
}

export interface LiteClientCounters {
  /** SRTP packets received (not decrypted), and their bytes */
  rtpPackets: number;
  rtpBytes: number;
  /** SRTCP packets received that decrypted */
  rtcpPackets: number;
  /** performance.now() when the first SRTP packet arrived */
  firstRtpAt?: number;
  rtcpDecryptFailures: number;
  stunRequestsSent: number;
  stunResponses: number;
  /** performance.now() of the latest verified Binding success response (consent) */
  lastStunResponseAt?: number;
  rtpPacketsSent: number;
  rtpBytesSent: number;
  rtcpPacketsSent: number;
}

interface Remote {
  ip: string;
  port: number;
  fingerprint: ParsedAnswer['fingerprint'];
  ice: IceChecks;
}

export class LiteClient {
  readonly timings: LiteClientTimings = { postMs: 0, iceMs: 0, dtlsMs: 0 };
  readonly counters: LiteClientCounters = {
    rtpPackets: 0,
    rtpBytes: 0,
    rtcpPackets: 0,
    rtcpDecryptFailures: 0,
    stunRequestsSent: 0,
    stunResponses: 0,
    rtpPacketsSent: 0,
    rtpBytesSent: 0,
    rtcpPacketsSent: 0,
  };
  private profileName = '';
  /** The status of the DELETE sent by close(), once it answered. */
  deleteStatus: number | undefined;
  /** Raw SRTP as it arrives (count without decrypting: it is cheap). */
  onRtp?: (encrypted: Buffer) => void;
  /** Decrypted SRTCP. */
  onRtcp?: (plain: Buffer) => void;

  private readonly socket = dgram.createSocket({ type: 'udp4' });
  private remote: Remote | undefined;
  private iceTimer: NodeJS.Timeout | undefined;
  private dtls: DtlsClient | undefined;
  private transport: CallbackTransport | undefined;
  private srtp: SrtpSession | undefined;
  private srtcp: SrtcpSession | undefined;
  private closed = false;
  private closing: Promise<void> | undefined;
  private onIceSuccess: (() => void) | undefined;
  private dtlsDatagramsIn = 0;
  /** Set while connectHalfway() waits for the server's ServerHello. */
  private onServerHello: (() => void) | undefined;

  private resource = '';
  private answerText = '';

  private constructor(
    readonly options: LiteClientOptions & { kinds: MediaKind[] },
    readonly localUfrag: string,
    readonly localPwd: string,
    readonly offer: string,
    readonly videoSsrc: number,
    readonly audioSsrc: number,
    private readonly certificate: ClientCertificate,
  ) {}

  /** Location of the WHIP/WHEP session, absolute ('' before the POST answered). */
  get resourceUrl(): string {
    return this.resource;
  }

  /** The server's SDP answer. */
  get answer(): string {
    return this.answerText;
  }

  /** 'AEAD_AES_128_GCM' or 'AES_CM_128_HMAC_SHA1_80' ('' before SRTP is ready). */
  get srtpProfile(): string {
    return this.profileName;
  }

  /** POST the offer, ICE, DTLS, SRTP. Resolves when SRTP is keyed; rejects with a LiteClientError. */
  static connect(opts: LiteClientOptions): Promise<LiteClient> {
    return LiteClient.open(opts, (client, timeoutMs) => client.run(timeoutMs));
  }

  /**
   * Only the POST: the server creates the session and answers, and the client never
   * sends a datagram (a client that gave up, or lost UDP). close() DELETEs it;
   * close(false) leaves it to the server's consent timeout.
   */
  static signalOnly(opts: LiteClientOptions): Promise<LiteClient> {
    return LiteClient.open(opts, (client, timeoutMs) => client.post(performance.now(), timeoutMs));
  }

  /**
   * POST, ICE, and DTLS until the server has sent its ServerHello flight (its
   * certificate; it then waits for ours), and no further: a client that goes away in
   * the middle of the handshake. close() DELETEs the session, close(false) abandons it.
   */
  static connectHalfway(opts: LiteClientOptions): Promise<LiteClient> {
    return LiteClient.open(opts, (client, timeoutMs) => client.run(timeoutMs, 'server-hello'));
  }

  /** Creates a client and takes it through `steps`; on failure, closes it (DELETE once the POST made a session) and rethrows. */
  private static async open(opts: LiteClientOptions, steps: (client: LiteClient, timeoutMs: number) => Promise<unknown>): Promise<LiteClient> {
    const client = await LiteClient.create(opts);
    try {
      await steps(client, Math.max(1, opts.timeoutMs ?? 10_000));
    } catch (error) {
      await client.close(client.resource !== '').catch(() => {});
      throw error;
    }
    return client;
  }

  private static async create(opts: LiteClientOptions): Promise<LiteClient> {
    const url = new URL(opts.url);
    const host = url.hostname === 'localhost' ? '127.0.0.1' : url.hostname;
    if (!isLoopback(host)) throw new Error(`LiteClient only targets loopback (127.0.0.0/8): ${opts.url}`);
    const kinds = opts.kinds ?? ['audio', 'video'];
    if (kinds.length === 0 || new Set(kinds).size !== kinds.length)
      throw new Error(`LiteClient: kinds must be audio and/or video once each, got ${JSON.stringify(kinds)}`);
    const certificate = await clientCertificate();
    const videoSsrc = opts.videoSsrc ?? randomSsrc();
    let audioSsrc = opts.audioSsrc ?? randomSsrc();
    while (audioSsrc === videoSsrc) audioSsrc = randomSsrc();
    const ufrag = iceToken(4);
    const pwd = iceToken(16);
    const offer = buildOffer({ role: opts.role, kinds, ufrag, pwd, fingerprint: certificate.fingerprint, videoSsrc, audioSsrc, cname: iceToken(6) });
    return new LiteClient({ ...opts, kinds }, ufrag, pwd, offer, videoSsrc, audioSsrc, certificate);
  }

  private async run(timeoutMs: number, until: 'srtp' | 'server-hello' = 'srtp'): Promise<void> {
    const start = performance.now();
    const deadline = start + timeoutMs;
    const candidate = await this.post(start, timeoutMs);

    // 2. Socket, connected to the server's candidate: the kernel filters other sources and send() needs no address.
    await connectUdp(this.socket, candidate.ip, candidate.port);
    // ICMP port unreachable shows up as ECONNREFUSED on a connected socket: not fatal here.
    this.socket.on('error', () => {});
    try {
      this.socket.setRecvBufferSize(1 << 20);
    } catch {
      // the kernel cap applies
    }
    this.socket.on('message', (data: Buffer) => this.onDatagram(data));

    // 3. ICE: checks every 50 ms until one verifies, then consent every 2.5 s.
    await beforeDeadline(
      new Promise<void>((resolve) => {
        this.onIceSuccess = resolve;
        this.sendCheck();
        this.iceTimer = setInterval(() => this.sendCheck(), ICE_CHECK_INTERVAL_MS);
      }),
      deadline,
      () =>
        new LiteClientError(
          `ICE to ${candidate.ip}:${candidate.port} did not succeed within ${timeoutMs} ms (session ${this.resource}; ${this.counters.stunRequestsSent} Binding Requests sent, no verified success response)`,
          'ice',
        ),
    );
    this.timings.iceMs = performance.now() - start;
    clearInterval(this.iceTimer);
    this.iceTimer = setInterval(() => this.sendCheck(), CONSENT_INTERVAL_MS);

    // 4. DTLS client, then SRTP.
    const halfway = until === 'server-hello' ? new Promise<void>((resolve) => (this.onServerHello = resolve)) : undefined;
    const handshake = this.handshake();
    if (halfway !== undefined) handshake.catch(() => {}); // it never completes: close() ends it
    await beforeDeadline(
      halfway ?? handshake,
      deadline,
      () =>
        new LiteClientError(
          `DTLS handshake with ${candidate.ip}:${candidate.port} did not complete within ${timeoutMs} ms (session ${this.resource}; client at flight ${this.dtls?.dtls.flight}, ${this.dtlsDatagramsIn} DTLS datagrams received)`,
          'dtls',
        ),
    );
    this.timings.dtlsMs = performance.now() - start;
  }

  /** 1. POSTs the offer; returns the server's candidate to run ICE against. */
  private async post(start: number, timeoutMs: number): Promise<{ ip: string; port: number }> {
    const { url, role, token } = this.options;
    const what = role === 'publish' ? 'WHIP' : 'WHEP';
    let res: Response;
    try {
      res = await fetch(url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/sdp', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
        body: this.offer,
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      throw new LiteClientError(`${what} POST ${url} failed: ${(error as Error).message}`, 'http');
    }
    const body = await res.text();
    if (res.status !== 201) {
      const { message, problem } = describeProblem(res.status, res.statusText, body, res.headers.get('content-type') ?? '');
      throw new LiteClientError(`${what} POST ${url} → ${message}`, 'http', res.status, problem, res.headers.get('retry-after') ?? undefined);
    }
    const location = res.headers.get('location');
    if (location) this.resource = new URL(location, url).toString();
    this.answerText = body;
    this.timings.postMs = performance.now() - start;
    if (!location) throw new LiteClientError(`${what} POST ${url} → 201 without a Location header`, 'http', 201);
    let parsed: ParsedAnswer;
    try {
      parsed = parseAnswer(body);
    } catch (error) {
      throw new LiteClientError(`${what} POST ${url}: unusable answer: ${(error as Error).message}`, 'http', 201);
    }
    const candidate = parsed.candidates.find((c) => isLoopback(c.ip)) ?? parsed.candidates[0]!;
    this.remote = {
      ip: candidate.ip,
      port: candidate.port,
      fingerprint: parsed.fingerprint,
      ice: new IceChecks(this.localUfrag, { ufrag: parsed.iceUfrag, pwd: Buffer.from(parsed.icePwd, 'utf8') }),
    };
    return candidate;
  }

  private async handshake(): Promise<void> {
    const { client, transport, keyed } = startHandshake(this.certificate, this.remote!.fingerprint, (data) => this.write(data));
    this.dtls = client;
    this.transport = transport;
    const { srtp, srtcp, profileName } = await keyed.catch((error: unknown) => {
      throw error instanceof DtlsClientError ? new LiteClientError(error.message, 'dtls') : error;
    });
    this.srtp = srtp;
    this.srtcp = srtcp;
    this.profileName = profileName;
  }

  // -------------------------------------------------------------------------------------------
  // Wire

  private write(data: Buffer): void {
    if (this.closed) return;
    this.socket.send(data);
  }

  private sendCheck(): void {
    const remote = this.remote;
    if (!remote || this.closed) return;
    this.counters.stunRequestsSent++;
    this.write(remote.ice.request());
  }

  private onDatagram(data: Buffer): void {
    if (this.closed || data.length === 0) return;
    const b0 = data[0]!;
    if (b0 >= 128 && b0 <= 191) {
      // RTP or RTCP (RFC 5761 §4: RTCP packet types 192-223 land on byte 1 = 192..223).
      const b1 = data.length > 1 ? data[1]! : 0;
      if (b1 >= 192 && b1 <= 223) this.onSrtcp(data);
      else this.onSrtp(data);
    } else if (b0 >= 20 && b0 <= 63) {
      this.dtlsDatagramsIn++;
      // A handshake record (22) whose message is a ServerHello (2): the server's flight 4.
      if (this.onServerHello !== undefined && b0 === 22 && data.length > 13 && data[13] === 2) {
        this.onServerHello();
        this.onServerHello = undefined;
        return;
      }
      this.transport?.onData(data);
    } else if (b0 <= 3) {
      this.onStun(data);
    }
  }

  private onStun(data: Buffer): void {
    if (!this.remote?.ice.isAnswer(data)) return;
    this.counters.stunResponses++;
    this.counters.lastStunResponseAt = performance.now();
    const done = this.onIceSuccess;
    this.onIceSuccess = undefined;
    done?.();
  }

  private onSrtp(data: Buffer): void {
    this.counters.rtpPackets++;
    this.counters.rtpBytes += data.length;
    this.counters.firstRtpAt ??= performance.now();
    this.onRtp?.(data);
  }

  private onSrtcp(data: Buffer): void {
    if (!this.srtcp) return;
    let plain: Buffer;
    try {
      plain = this.srtcp.decrypt(data);
    } catch {
      this.counters.rtcpDecryptFailures++;
      return;
    }
    this.counters.rtcpPackets++;
    this.onRtcp?.(plain);
  }

  // -------------------------------------------------------------------------------------------
  // Media API

  /** Encrypts a plain RTP packet and sends it. Throws before SRTP is ready. */
  sendRtp(packet: Buffer): void {
    if (!this.srtp) throw new Error('LiteClient.sendRtp: SRTP is not ready');
    if (this.closed) return;
    const header = RtpHeader.deSerialize(packet);
    const out = this.srtp.encrypt(packet.subarray(header.payloadOffset), header);
    this.counters.rtpPacketsSent++;
    this.counters.rtpBytesSent += out.length;
    this.socket.send(out);
  }

  /** Encrypts a plain RTCP (compound) packet and sends it. */
  sendRtcp(packet: Buffer): void {
    if (!this.srtcp) throw new Error('LiteClient.sendRtcp: SRTP is not ready');
    if (this.closed) return;
    this.counters.rtcpPacketsSent++;
    this.socket.send(this.srtcp.encrypt(packet));
  }

  /**
   * Decrypts one received SRTP packet (a sample: the rollover counter is tracked per SSRC
   * from the packets given here, so keep samples within 2^15 sequence numbers of each other).
   * Undefined when it does not authenticate.
   */
  decryptRtp(packet: Buffer): Buffer | undefined {
    if (!this.srtp) return undefined;
    try {
      return this.srtp.decrypt(packet);
    } catch {
      return undefined;
    }
  }

  get connected(): boolean {
    return this.srtp !== undefined && !this.closed;
  }

  get localPort(): number {
    return (this.socket.address() as AddressInfo).port;
  }

  /** Stops the timers, DELETEs the resource (unless told not to), closes DTLS and the socket. */
  close(deleteResource = true): Promise<void> {
    this.closing ??= this.doClose(deleteResource);
    return this.closing;
  }

  private async doClose(deleteResource: boolean): Promise<void> {
    clearInterval(this.iceTimer);
    this.iceTimer = undefined;
    if (deleteResource && this.resource) {
      try {
        const res = await fetch(this.resource, {
          method: 'DELETE',
          headers: this.options.token ? { Authorization: `Bearer ${this.options.token}` } : {},
          signal: AbortSignal.timeout(5_000),
        });
        this.deleteStatus = res.status;
        await res.arrayBuffer().catch(() => undefined);
      } catch {
        this.deleteStatus = undefined;
      }
    }
    this.closed = true;
    if (this.dtls) endHandshake(this.dtls);
    this.srtp = undefined;
    this.srtcp = undefined;
    await new Promise<void>((resolve) => {
      try {
        this.socket.close(() => resolve());
      } catch {
        resolve(); // never bound, or already closed
      }
    });
  }
}

function isLoopback(ip: string): boolean {
  return ip.startsWith('127.');
}

function iceToken(bytes: number): string {
  // hex is a subset of the ICE character set (RFC 8445 §5.3).
  return randomBytes(bytes).toString('hex');
}

function randomSsrc(): number {
  return randomInt(1, 0xffffffff);
}
