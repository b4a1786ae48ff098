// A lightweight but real WebRTC endpoint for load generation: one WHIP publisher or WHEP
// viewer per object, many per process. It does what a browser does on the wire — a
// WHIP/WHEP POST, ICE connectivity checks (full agent, controlling, aggressive nomination)
// against the server's ICE-lite host candidate, a DTLS client handshake whose certificate
// matches the offer's a=fingerprint, then SRTP/SRTCP with keys from the handshake — and
// nothing more: no encoder, no jitter buffer, no congestion control, no SCTP.
//
// Built from werift's pieces, driven with our own transport (a connected udp4 socket):
// STUN Message/parseMessage, DtlsClient, SrtpSession/SrtcpSession.
//
// werift notes (0.24.4):
// - DtlsClient.connect() resolves only when flight 1's retransmission timer has run out:
//   Flight.transmit() sends, then always awaits setTimeout(500 ms) before it looks at whether
//   the peer answered. The handshake itself proceeds in parallel (incoming records are
//   handled as they arrive), so `await client.connect()` adds a fixed ~500 ms. Here connect()
//   is fired and forgotten and readiness comes from onConnect.
// - Those retransmission timers are not unref'd and keep going after close() (up to ~27 s
//   for a handshake that never finishes); close() ends them by marking the flight as done.
import { createHash, randomBytes, randomInt, timingSafeEqual, X509Certificate } from 'node:crypto';
import dgram from 'node:dgram';
import type { AddressInfo } from 'node:net';
import { isIP } from 'node:net';
import { performance } from 'node:perf_hooks';
import {
  CipherContext,
  DtlsClient,
  HashAlgorithm,
  Message,
  NamedCurveAlgorithm,
  ProtectionProfileAeadAes128Gcm,
  ProtectionProfileAes128CmHmacSha1_80,
  RtpHeader,
  SignatureAlgorithm,
  SrtcpSession,
  SrtpSession,
  classes,
  keyLength,
  methods,
  parseMessage,
  saltLength,
  type SignatureHash,
} from 'werift';
import { CallbackTransport } from '../src/engine/dtls/dtlsEndpoint';

export type MediaKind = 'audio' | 'video';

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

export type LiteClientPhase = 'http' | 'ice' | 'dtls';

/** Why connect() failed: phase, and for HTTP the status and the RFC 9457 problem. */
export class LiteClientError extends Error {
  constructor(
    message: string,
    readonly phase: LiteClientPhase,
    readonly status?: number,
    readonly problem?: { title?: string; detail?: string; [key: string]: unknown },
    readonly retryAfter?: string,
  ) {
    super(message);
    this.name = 'LiteClientError';
  }
}

export const PUBLISH_VIDEO_PT = 96;
export const PLAY_VIDEO_PT = 102;
export const AUDIO_PT = 111;

const SRTP_PROFILE_NAMES: Record<number, string> = {
  [ProtectionProfileAes128CmHmacSha1_80]: 'AES_CM_128_HMAC_SHA1_80',
  [ProtectionProfileAeadAes128Gcm]: 'AEAD_AES_128_GCM',
};

const ICE_CHECK_INTERVAL_MS = 50;
const CONSENT_INTERVAL_MS = 2_500;
/** RFC 8445 §5.1.2.1 priority of a peer-reflexive candidate (type preference 110), component 1. */
const PRFLX_PRIORITY = 110 * 2 ** 24 + 65535 * 2 ** 8 + 255;

// ---------------------------------------------------------------------------------------------
// One self-signed ECDSA P-256 certificate per process: every client presents it (the server
// only checks it against the offer's fingerprint), so 200 clients cost one key generation.

export interface ClientCertificate {
  certPem: string;
  keyPem: string;
  signatureHash: SignatureHash;
  /** "sha-256 AB:CD:..." */
  fingerprint: string;
}

let certificatePromise: Promise<ClientCertificate> | undefined;

export function liteClientCertificate(): Promise<ClientCertificate> {
  certificatePromise ??= CipherContext.createSelfSignedCertificateWithKey(
    { signature: SignatureAlgorithm.ecdsa_3, hash: HashAlgorithm.sha256_4 },
    NamedCurveAlgorithm.secp256r1_23,
  ).then(({ certPem, keyPem, signatureHash }) => ({
    certPem,
    keyPem,
    signatureHash,
    fingerprint: `sha-256 ${new X509Certificate(certPem).fingerprint256}`,
  }));
  return certificatePromise;
}

// ---------------------------------------------------------------------------------------------
// SDP

interface OfferParams {
  role: 'publish' | 'play';
  kinds: MediaKind[];
  ufrag: string;
  pwd: string;
  fingerprint: string;
  videoSsrc: number;
  audioSsrc: number;
  cname: string;
}

/** A WHIP (sendonly) or WHEP (recvonly) offer: BUNDLE, rtcp-mux, no candidates (the server is ICE-lite). */
export function buildOffer(p: OfferParams): string {
  const mids = p.kinds.map((_, i) => String(i));
  const lines = [
    'v=0',
    `o=- ${randomBytes(6).readUIntBE(0, 6)} 2 IN IP4 127.0.0.1`,
    's=-',
    't=0 0',
    `a=group:BUNDLE ${mids.join(' ')}`,
    'a=msid-semantic: WMS lite',
  ];
  const streamId = `lite-${p.cname}`;
  p.kinds.forEach((kind, i) => {
    const pt = kind === 'audio' ? AUDIO_PT : p.role === 'publish' ? PUBLISH_VIDEO_PT : PLAY_VIDEO_PT;
    lines.push(
      `m=${kind} 9 UDP/TLS/RTP/SAVPF ${pt}`,
      'c=IN IP4 0.0.0.0',
      'a=rtcp:9 IN IP4 0.0.0.0',
      `a=ice-ufrag:${p.ufrag}`,
      `a=ice-pwd:${p.pwd}`,
      `a=fingerprint:${p.fingerprint}`,
      'a=setup:actpass',
      `a=mid:${mids[i]}`,
      p.role === 'publish' ? 'a=sendonly' : 'a=recvonly',
      'a=rtcp-mux',
      'a=rtcp-rsize',
    );
    if (kind === 'audio') {
      lines.push(`a=rtpmap:${pt} opus/48000/2`, `a=rtcp-fb:${pt} transport-cc`, `a=fmtp:${pt} minptime=10;useinbandfec=1`);
    } else {
      lines.push(
        `a=rtpmap:${pt} H264/90000`,
        `a=rtcp-fb:${pt} goog-remb`,
        `a=rtcp-fb:${pt} nack`,
        `a=rtcp-fb:${pt} nack pli`,
        `a=rtcp-fb:${pt} ccm fir`,
        `a=fmtp:${pt} profile-level-id=42e01f;packetization-mode=1;level-asymmetry-allowed=1`,
      );
    }
    if (p.role === 'publish') {
      const ssrc = kind === 'audio' ? p.audioSsrc : p.videoSsrc;
      lines.push(`a=msid:${streamId} ${streamId}-${kind}`, `a=ssrc:${ssrc} cname:${p.cname}`, `a=ssrc:${ssrc} msid:${streamId} ${streamId}-${kind}`);
    }
  });
  return lines.join('\r\n') + '\r\n';
}

export interface ParsedAnswer {
  iceUfrag: string;
  icePwd: string;
  fingerprint: { algorithm: string; value: string };
  candidates: { ip: string; port: number }[];
  /** a=ssrc values per mid (play role: what the server will send) */
  ssrcs: Map<string, number[]>;
}

export function parseAnswer(sdp: string): ParsedAnswer {
  let iceUfrag: string | undefined;
  let icePwd: string | undefined;
  let fingerprint: ParsedAnswer['fingerprint'] | undefined;
  const candidates: ParsedAnswer['candidates'] = [];
  const ssrcs = new Map<string, number[]>();
  let mid = '';
  for (const raw of sdp.split(/\r?\n/)) {
    const line = raw.trim();
    if (line.startsWith('m=')) mid = '';
    else if (line.startsWith('a=mid:')) mid = line.slice(6);
    else if (line.startsWith('a=ice-ufrag:')) iceUfrag ??= line.slice(12);
    else if (line.startsWith('a=ice-pwd:')) icePwd ??= line.slice(10);
    else if (line.startsWith('a=fingerprint:') && fingerprint === undefined) {
      const [algorithm, value] = line.slice(14).split(' ');
      if (algorithm && value) fingerprint = { algorithm: algorithm.toLowerCase(), value: value.toUpperCase() };
    } else if (line.startsWith('a=candidate:')) {
      const m = /^a=candidate:\S+ \d+ (\S+) \d+ (\S+) (\d+) typ (\S+)/.exec(line);
      if (m && m[1]!.toLowerCase() === 'udp' && isIP(m[2]!) === 4) candidates.push({ ip: m[2]!, port: Number(m[3]) });
    } else if (line.startsWith('a=ssrc:')) {
      const n = Number(/^a=ssrc:(\d+)/.exec(line)?.[1]);
      if (Number.isInteger(n)) {
        const list = ssrcs.get(mid) ?? [];
        if (!list.includes(n)) list.push(n);
        ssrcs.set(mid, list);
      }
    }
  }
  if (!iceUfrag || !icePwd) throw new Error('the answer has no a=ice-ufrag / a=ice-pwd');
  if (!fingerprint) throw new Error('the answer has no a=fingerprint');
  if (candidates.length === 0) throw new Error('the answer has no udp IPv4 host candidate');
  return { iceUfrag, icePwd, fingerprint, candidates, ssrcs };
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

function describeProblem(status: number, statusText: string, body: string, contentType: string): {
  message: string;
  problem?: { title?: string; detail?: string };
} {
  let problem: { title?: string; detail?: string } | undefined;
  let text = body.trim();
  if (/json/i.test(contentType)) {
    try {
      problem = JSON.parse(body) as { title?: string; detail?: string };
      text = [problem.title, problem.detail].filter((s) => typeof s === 'string' && s !== '').join(': ');
    } catch {
      // not JSON after all: keep the text
    }
  }
  if (text.length > 300) text = `${text.slice(0, 297)}...`;
  return { message: `${status} ${statusText}${text ? ` — ${text}` : ''}`, ...(problem ? { problem } : {}) };
}

// ---------------------------------------------------------------------------------------------

interface Remote {
  ip: string;
  port: number;
  ufrag: string;
  pwd: Buffer;
  fingerprint: ParsedAnswer['fingerprint'];
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
  private readonly tieBreaker = randomBytes(8).readBigUInt64BE();
  private readonly pending = new Map<string, number>();
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
    if (kinds.length === 0 || new Set(kinds).size !== kinds.length) throw new Error(`LiteClient: kinds must be audio and/or video once each, got ${JSON.stringify(kinds)}`);
    const certificate = await liteClientCertificate();
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
    await new Promise<void>((resolve, reject) => {
      this.socket.once('error', reject);
      this.socket.bind(0, isLoopback(candidate.ip) ? '127.0.0.1' : '0.0.0.0', () => {
        this.socket.connect(candidate.port, candidate.ip, () => {
          this.socket.off('error', reject);
          resolve();
        });
      });
    });
    // ICMP port unreachable shows up as ECONNREFUSED on a connected socket: not fatal here.
    this.socket.on('error', () => {});
    try {
      this.socket.setRecvBufferSize(1 << 20);
    } catch {
      // the kernel cap applies
    }
    this.socket.on('message', (data: Buffer) => this.onDatagram(data));

    // 3. ICE: checks every 50 ms until one verifies, then consent every 2.5 s.
    await this.withDeadline(
      deadline,
      new Promise<void>((resolve) => {
        this.onIceSuccess = resolve;
        this.sendCheck();
        this.iceTimer = setInterval(() => this.sendCheck(), ICE_CHECK_INTERVAL_MS);
      }),
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
    await this.withDeadline(
      deadline,
      halfway ?? handshake,
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
    this.remote = { ip: candidate.ip, port: candidate.port, ufrag: parsed.iceUfrag, pwd: Buffer.from(parsed.icePwd, 'utf8'), fingerprint: parsed.fingerprint };
    return candidate;
  }

  private async withDeadline<T>(deadline: number, work: Promise<T>, timeoutError: () => Error): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(timeoutError()), Math.max(0, deadline - performance.now()));
    });
    try {
      return await Promise.race([work, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  private handshake(): Promise<void> {
    const remote = this.remote!;
    const transport = new CallbackTransport((data) => this.write(data));
    this.transport = transport;
    const client = new DtlsClient({
      cert: this.certificate.certPem,
      key: this.certificate.keyPem,
      signatureHash: this.certificate.signatureHash,
      transport,
      srtpProfiles: [ProtectionProfileAeadAes128Gcm, ProtectionProfileAes128CmHmacSha1_80],
      extendedMasterSecret: true,
    });
    this.dtls = client;
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const fail = (message: string): void => {
        if (settled) return;
        settled = true;
        reject(new LiteClientError(message, 'dtls'));
      };
      client.onConnect.subscribe(() => {
        if (settled) return;
        const mismatch = checkFingerprint(client.remoteCertificate, remote.fingerprint);
        if (mismatch) return fail(mismatch);
        const profile = client.srtp.srtpProfile;
        if (profile === undefined) return fail('the DTLS server negotiated no SRTP profile');
        const k = client.extractSessionKeys(keyLength(profile), saltLength(profile));
        const config = {
          profile,
          keys: { localMasterKey: k.localKey as Buffer, localMasterSalt: k.localSalt as Buffer, remoteMasterKey: k.remoteKey as Buffer, remoteMasterSalt: k.remoteSalt as Buffer },
        };
        this.srtp = new SrtpSession(config);
        this.srtcp = new SrtcpSession(config);
        this.profileName = SRTP_PROFILE_NAMES[profile] ?? `profile ${profile}`;
        settled = true;
        resolve();
      });
      client.onError.subscribe((error: Error) => {
        // werift's client throws an empty Error when a second HelloVerifyRequest
        // arrives (the server answered our retransmitted ClientHello too, as it
        // should); its handshake carries on, so that one is not a failure.
        if (error instanceof Error && error.message === '' && /Flight3/.test(error.stack ?? '')) return;
        fail(`DTLS handshake failed: ${error?.message ?? String(error)}`);
      });
      client.onClose.subscribe(() => fail('the DTLS server sent an alert during the handshake'));
      // Not awaited: connect() resolves only after flight 1's 500 ms retransmission wait (see the header).
      client.connect().catch((error: unknown) => fail(`DTLS handshake failed: ${error instanceof Error ? error.message : String(error)}`));
    });
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
    const m = new Message(methods.BINDING, classes.REQUEST);
    m.setAttribute('USERNAME', `${remote.ufrag}:${this.localUfrag}`);
    m.setAttribute('PRIORITY', PRFLX_PRIORITY);
    m.setAttribute('ICE-CONTROLLING', this.tieBreaker);
    m.setAttribute('USE-CANDIDATE', null);
    m.addMessageIntegrity(remote.pwd);
    m.addFingerprint();
    const now = performance.now();
    // Forget transactions nobody answered within 10 s.
    if (this.pending.size > 64) for (const [id, at] of this.pending) if (now - at > 10_000) this.pending.delete(id);
    this.pending.set(Buffer.from(m.transactionId).toString('hex'), now);
    this.counters.stunRequestsSent++;
    this.write(m.bytes);
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
    const remote = this.remote;
    if (!remote) return;
    const m = parseMessage(data, remote.pwd); // undefined unless FINGERPRINT and MESSAGE-INTEGRITY verify
    if (!m || m.messageMethod !== methods.BINDING || m.messageClass !== classes.RESPONSE) return;
    const id = Buffer.from(m.transactionId).toString('hex');
    if (!this.pending.delete(id)) return;
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
    if (this.dtls) {
      // Ends werift's pending flight retransmission loops at their next wake-up.
      this.dtls.dtls.flight = Math.max(this.dtls.dtls.flight, 7);
      this.dtls.close();
    }
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

function checkFingerprint(der: Buffer | undefined, expected: ParsedAnswer['fingerprint']): string | undefined {
  if (der === undefined) return 'the DTLS server sent no certificate';
  const algorithm = expected.algorithm.replace('-', '');
  if (!['sha1', 'sha224', 'sha256', 'sha384', 'sha512'].includes(algorithm)) return `unsupported fingerprint algorithm ${expected.algorithm}`;
  const want = Buffer.from(expected.value.replace(/:/g, ''), 'hex');
  const got = createHash(algorithm).update(der).digest();
  if (want.length === got.length && timingSafeEqual(want, got)) return undefined;
  return "the DTLS server's certificate does not match the answer's a=fingerprint";
}
