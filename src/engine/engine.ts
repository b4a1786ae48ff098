// The media engine: the one UDP port (its sockets: localSockets.ts), the process
// certificate and every live session. It knows no rooms; whoever creates a session
// listens to its events.
import type { Certificate } from './dtls/certificate';
import type { RemoteFingerprint } from './dtls/dtlsEndpoint';
import { primeDtls } from './dtls/warmup';
import { forEachSafely } from './safeEmit';
import { Session, type CloseReason } from './session';
import { UdpMux } from './udpMux';

export interface EngineOptions {
  bind: string;
  udpPort: number;
  certificate: Certificate;
  /** RFC 7675: a session with no verified check for this long is closed. */
  consentTimeoutMs?: number;
  /** A session whose first verified check has not come this long after its creation is closed ('ice-timeout'). */
  iceTimeoutMs?: number;
  /** A session whose DTLS has not completed this long after its first verified check is closed. */
  handshakeTimeoutMs?: number;
}

export interface NewSession {
  ufragPrefix: string;
  remoteUfrag: string | undefined;
  remoteFingerprints: readonly RemoteFingerprint[];
}

const DEFAULT_CONSENT_TIMEOUT_MS = 30_000;
/**
 * A client that means it checks at once: the OBS-like client is connected, ICE and
 * DTLS, within 1 s of its POST (test/integration/whipObs.test.ts). A session that never does
 * ICE is only an anonymous POST holding capacity: it goes after 10 s, not consent's 30.
 */
const DEFAULT_ICE_TIMEOUT_MS = 10_000;
/** Real clients finish DTLS within a second or two of their first check even on a loaded machine (the soak's connect p95: 1.4 s); 10 s leaves room for retransmissions on a lossy path. */
const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000;

export class MediaEngine {
  readonly mux: UdpMux;
  readonly certificate: Certificate;
  private readonly sessions = new Set<Session>();
  private readonly consentTimeoutMs: number;
  private readonly iceTimeoutMs: number;
  private readonly handshakeTimeoutMs: number;
  /** Sessions closed since start, by reason (metrics). */
  readonly closedByReason = new Map<CloseReason, number>();
  private sweepTimer: NodeJS.Timeout | undefined;

  constructor(options: EngineOptions) {
    this.certificate = options.certificate;
    this.consentTimeoutMs = options.consentTimeoutMs ?? DEFAULT_CONSENT_TIMEOUT_MS;
    this.iceTimeoutMs = options.iceTimeoutMs ?? DEFAULT_ICE_TIMEOUT_MS;
    this.handshakeTimeoutMs = options.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS;
    this.mux = new UdpMux(options.bind, options.udpPort);
  }

  async start(): Promise<number> {
    await primeDtls(this.certificate);
    const port = await this.mux.listen();
    // One timer for every session's consent, rather than a timer per session.
    const period = Math.min(1_000, Math.max(50, Math.min(this.consentTimeoutMs, this.iceTimeoutMs, this.handshakeTimeoutMs) / 10));
    this.sweepTimer = setInterval(() => this.sweep(Date.now()), period);
    this.sweepTimer.unref();
    return port;
  }

  createSession(request: NewSession): Session {
    const session = new Session({
      ...request,
      certificate: this.certificate,
      write: (packet, to) => this.mux.send(packet, to),
    });
    this.sessions.add(session);
    this.mux.add(session);
    // The engine owns the session: its end is unregistered here, from the mux too.
    session.once('closed', (reason) => {
      this.sessions.delete(session);
      this.mux.remove(session);
      this.closedByReason.set(reason, (this.closedByReason.get(reason) ?? 0) + 1);
    });
    return session;
  }

  /** ICE restart of `session` with the peer's new ufrag; see Session.restartIce. */
  restartIce(session: Session, remoteUfrag: string): void {
    this.mux.reindex(session, session.restartIce(remoteUfrag));
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  async close(): Promise<void> {
    if (this.sweepTimer !== undefined) clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
    try {
      forEachSafely(this.sessions, (session) => session.close('server-shutdown'));
    } finally {
      await this.mux.close();
    }
  }

  /** Closes sessions that never did ICE, whose handshake is overdue or whose consent expired, and unbinds paths that went quiet. */
  private sweep(now: number): void {
    forEachSafely(this.sessions, (session) => {
      if (session.state === 'new' && now - session.createdAt > this.iceTimeoutMs) {
        session.close('ice-timeout');
        return;
      }
      if (now - session.lastConsent > this.consentTimeoutMs) {
        session.close('consent-expired');
        return;
      }
      // A peer that proved it holds the password but never finishes DTLS holds werift's handshake state.
      if (session.state === 'ice-connected' && now - session.iceConnectedAt! > this.handshakeTimeoutMs) {
        session.close('dtls-timeout', `DTLS did not complete within ${this.handshakeTimeoutMs / 1000} s of the first verified check`);
        return;
      }
      this.mux.unbind(session.expireAddresses(now, this.consentTimeoutMs), session);
    });
  }
}
