// The WHIP and WHEP use cases, once HTTP is out of the way: publish, play, PATCH
// (trickle ICE or an ICE restart, guarded by the session's ETag) and end. It reads the
// offer (sdp/), asks the SFU for the room and the admission limits, creates the engine
// session, lets the recordings service decide whether a publish is recorded, and
// answers. Every refusal is a SignalingError naming its reason; http/ says it in HTTP.
import { randomBytes } from 'node:crypto';
import type { MediaEngine } from '../engine/engine';
import { forEachSafely } from '../engine/safeEmit';
import type { Session } from '../engine/session';
import type { Logger } from '../log';
import type { RecordingService } from '../recordings/recordingService';
import { buildAnswer } from '../sdp/answer';
import { negotiate } from '../sdp/negotiate';
import { parseOffer } from '../sdp/offer';
import { negotiatePlay, sourceTracks } from '../sdp/play';
import { buildRestartFrag, parseSdpFrag } from '../sdp/sdpfrag';
import { OfferError, type ParsedOffer } from '../sdp/types';
import type { AdmissionRequest } from '../sfu/admission';
import { iceRoomName, isRoomName } from '../names';
import { PUBLISHER_IDLE_MS, type Sfu } from '../sfu/sfu';
import { SignalingError, type SessionKind, type SignalingFailure } from './errors';
import type { RelayOpener, UpstreamDirectory, ViewerPlacement } from './upstream';

/** What a WHEP client is told to wait before retrying an empty room. */
const NOTHING_PUBLISHED_RETRY_SECONDS = 2;
/** What a client is told to wait before retrying a server that is shutting down (a restart). */
const SHUTDOWN_RETRY_SECONDS = 10;
/** What a WHEP client is told to wait when the room's upstream did not let this node relay it. */
const UPSTREAM_RETRY_SECONDS = 2;

export interface Created {
  session: Session;
  answer: string;
  /** Strong entity tag of the session's ICE state (changes on ICE restart). */
  etag: string;
}

/** What a PATCH did: nothing to say (trickled candidates), or an ICE restart with our new credentials. */
export type Patched = { restarted: false } | { restarted: true; fragment: string; etag: string };

export interface SignalingOptions {
  log: Logger;
  publicIps: readonly string[];
  /** The UDP port the answer's candidates name (the one the mux is bound to). */
  udpPort(): number;
  /** PUBLISH_TOKEN is set: every publisher proved it, so none counts as a stranger's pending session. */
  publishersAuthenticated: boolean;
  /** Where rooms published on other nodes are (the cluster's directory, or a fixed map); without it, every room is local. */
  upstreams?: UpstreamDirectory;
  /** Opens the relays that pull those rooms here (given with `upstreams`). */
  relays?: RelayOpener;
  /** In a cluster: the other node a viewer is sent to when this one is at MAX_VIEWERS. */
  placement?: ViewerPlacement;
}

/** A WHIP or WHEP session resource: its engine session and what PATCH needs. */
interface SessionResource {
  kind: SessionKind;
  room: string;
  session: Session;
  etag: string;
  /** The mids an ICE restart's answer fragment names. */
  mids: string[];
}

export class SignalingService {
  private readonly sessions = new Map<string, SessionResource>();
  /** close() has begun. */
  private closing = false;

  constructor(
    private readonly engine: MediaEngine,
    private readonly sfu: Sfu,
    private readonly recordings: Pick<RecordingService, 'published'>,
    private readonly options: SignalingOptions,
  ) {}

  /**
   * WHIP: a publisher's offer for `roomName` → its session and our answer. `record`:
   * ?record=1; `client`: the address the request came from.
   */
  publish(roomName: string, offerSdp: string, record = false, client?: string): Created {
    this.checkOpen();
    checkRoomName(roomName);
    const { offer, media } = readOffer(() => {
      const offer = parseOffer(offerSdp, 'publish');
      return { offer, media: negotiate(offer, 'publish') };
    });
    if (!this.sfu.makeRoomForPublisher(roomName)) refuse({ reason: 'room-busy', room: roomName, idleSeconds: PUBLISHER_IDLE_MS / 1000 });
    const request: AdmissionRequest = { kind: 'publish', room: roomName, client, trusted: this.options.publishersAuthenticated };
    const session = this.admit(request, offer);
    const publisher = this.sfu.rooms.getOrCreate(roomName).attachPublisher(session, media);
    this.recordings.published(roomName, publisher, record);
    const answer = buildAnswer({
      offer,
      role: 'publish',
      media,
      iceUfrag: session.localUfrag,
      icePwd: session.localPassword,
      fingerprint: this.engine.certificate.fingerprint,
      candidates: this.candidates(),
    });
    const etag = this.register(
      'publish',
      roomName,
      session,
      media.map((m) => m.mid),
    );
    return { session, answer, etag };
  }

  /**
   * WHEP: a viewer's recvonly offer for `roomName` → its session and our answer; `client` as for
   * publish(); `relay`: another node of the cluster pulls the room (held to MAX_RELAYS, not the viewer limits).
   */
  play(roomName: string, offerSdp: string, client?: string, relay = false): Created {
    this.checkOpen();
    checkRoomName(roomName);
    const offer = readOffer(() => parseOffer(offerSdp, 'play'));
    const room = this.sfu.rooms.get(roomName);
    const publisher = room?.publisher;
    if (room === undefined || publisher === undefined)
      refuse({ reason: 'nothing-published', room: roomName, retryAfterSeconds: NOTHING_PUBLISHED_RETRY_SECONDS });
    const media = readOffer(() => negotiatePlay(offer, sourceTracks(publisher.media)));
    const session = this.admit({ kind: 'play', room: roomName, client, trusted: relay, relay }, offer);
    const viewer = room.addViewer(session, media);
    const answer = buildAnswer({
      offer,
      role: 'play',
      media,
      iceUfrag: session.localUfrag,
      icePwd: session.localPassword,
      fingerprint: this.engine.certificate.fingerprint,
      candidates: this.candidates(),
      sendSsrcs: viewer.sendSsrcs(media),
    });
    const etag = this.register(
      'play',
      roomName,
      session,
      media.filter((m) => m.sourceKind !== undefined).map((m) => m.mid),
    );
    return { session, answer, etag };
  }

  /** Ends a session resource at once. */
  end(kind: SessionKind, roomName: string, sessionId: string): void {
    this.resource(kind, roomName, sessionId).session.close('deleted');
  }

  /**
   * A PATCH of a session resource (RFC 9725 §4.3): trickled candidates (ICE-lite has
   * no use for them) or an ICE restart (new credentials: ours in the answer fragment).
   * Both need the current ETag or "*" in `ifMatch` (RFC 9725 §4.3.2 makes trickle
   * conditional too). Anything refused leaves the session as it was.
   */
  patch(kind: SessionKind, roomName: string, sessionId: string, body: string, ifMatch: string | undefined): Patched {
    const resource = this.resource(kind, roomName, sessionId);
    if (ifMatch === undefined) refuse({ reason: 'etag-required' });
    if (ifMatch !== '*' && ifMatch !== resource.etag) refuse({ reason: 'stale-etag' });
    const frag = readOffer(() => parseSdpFrag(body));
    const { session } = resource;
    if (frag.iceUfrag === undefined || frag.iceUfrag === session.remoteUfrag) return { restarted: false };
    if (frag.icePwd === undefined) refuse({ reason: 'incomplete-ice-restart' });
    this.engine.restartIce(session, frag.iceUfrag);
    resource.etag = newEtag();
    this.options.log.info('ice restarted', { room: roomName, session: session.id, kind, ufrag: session.localUfrag });
    const fragment = buildRestartFrag({ iceUfrag: session.localUfrag, icePwd: session.localPassword, mids: resource.mids, candidates: this.candidates() });
    return { restarted: true, fragment, etag: resource.etag };
  }

  /** A session resource's engine session (for the WHEP events extension). */
  session(kind: SessionKind, roomName: string, sessionId: string): Session {
    return this.resource(kind, roomName, sessionId).session;
  }

  /** WHIP and WHEP session resources that exist now (for tests and metrics). */
  get sessionCount(): number {
    return this.sessions.size;
  }

  /**
   * Before a WHIP POST in a cluster: a room another node publishes stays that node's
   * (409); while the directory cannot tell whether one does, no room is taken (503).
   */
  async refuseIfPublishedElsewhere(roomName: string): Promise<void> {
    checkRoomName(roomName);
    const upstream = await this.options.upstreams?.upstreamOf(roomName);
    if (upstream !== undefined) refuse({ reason: 'published-elsewhere', room: roomName, nodeId: upstream.nodeId });
  }

  /** Waits, before a WHIP POST, while the room's publisher may be going silent (see Sfu). */
  untilPublisherMayBeReplaced(roomName: string): Promise<void> {
    return this.sfu.untilPublisherMayBeReplaced(roomName);
  }

  /**
   * Before a WHEP POST in a cluster: when this node is at MAX_VIEWERS, the same WHEP endpoint
   * on the live node with the most room, for a 307 (RFC 9725 §4.5); undefined when the POST
   * is this node's to answer (room here, or no other node has room or can be known to: then
   * play() refuses it as a single node would).
   */
  async elsewhereWhenFull(roomName: string): Promise<string | undefined> {
    const { placement } = this.options;
    if (placement === undefined || this.closing || !isRoomName(roomName)) return undefined;
    // Only MAX_VIEWERS is the node's own capacity; the other limits are not relieved elsewhere.
    if (this.sfu.admission.check({ kind: 'play', room: roomName, client: undefined, trusted: true })?.limit !== 'MAX_VIEWERS') return undefined;
    const node = await placement.nodeWithRoom().catch(() => undefined);
    return node === undefined ? undefined : `${node}/whep/${encodeURIComponent(roomName)}`;
  }

  /**
   * Before a WHEP POST: when the room has no publisher here and the directory says it is
   * published on another node, waits until this node's relay of it is connected (shared by
   * every POST that needs it), so that play() finds the relay as the room's publisher.
   * Refuses an offer play() would refuse first, then when the directory cannot be read ('directory-unavailable') or the upstream
   * does not let the relay in ('upstream-unavailable'; its 409 stays 'nothing-published').
   */
  async untilRelayed(roomName: string, offerSdp: string): Promise<void> {
    const { upstreams, relays } = this.options;
    if (upstreams === undefined || relays === undefined || this.closing || !isRoomName(roomName)) return;
    // An offer play() would refuse opens no relay.
    readOffer(() => parseOffer(offerSdp, 'play'));
    const running = relays.relaying(roomName);
    if (running === undefined && this.sfu.rooms.get(roomName)?.publisher !== undefined) return;
    const upstream = running?.upstream ?? (await upstreams.upstreamOf(roomName).catch(directoryUnavailable));
    if (upstream === undefined) return;
    try {
      await (running?.ready ?? relays.ensure(roomName, upstream));
    } catch (error) {
      const status = (error as { status?: unknown }).status;
      if (status === 409) refuse({ reason: 'nothing-published', room: roomName, retryAfterSeconds: NOTHING_PUBLISHED_RETRY_SECONDS });
      this.options.log.warn('relay failed', { room: roomName, error: String(error) });
      refuse({ reason: 'upstream-unavailable', room: roomName, nodeId: upstream.nodeId, retryAfterSeconds: UPSTREAM_RETRY_SECONDS });
    }
  }

  /**
   * Ends every session and closes the rooms. From here on new sessions are refused,
   * so none (and no recording) can start behind the shutdown's back.
   */
  close(): void {
    this.closing = true;
    try {
      forEachSafely(this.sessions.values(), ({ session }) => session.close('server-shutdown'));
    } finally {
      this.sfu.close();
    }
  }

  private resource(kind: SessionKind, roomName: string, sessionId: string): SessionResource {
    const resource = this.sessions.get(sessionId);
    if (resource === undefined || resource.kind !== kind || resource.room !== roomName) refuse({ reason: 'no-such-session', kind, room: roomName, sessionId });
    return resource;
  }

  /** A new engine session for `request`, counted by admission; refused over a limit. */
  private admit(request: AdmissionRequest, offer: ParsedOffer): Session {
    const refusal = this.sfu.admission.check(request);
    if (refusal !== undefined) refuse({ reason: 'over-limit', refusal });
    const session = this.engine.createSession({
      ufragPrefix: iceRoomName(request.room),
      remoteUfrag: offer.iceUfrag,
      remoteFingerprints: offer.fingerprints,
    });
    this.sfu.admission.admit(session, request);
    return session;
  }

  private checkOpen(): void {
    if (this.closing) refuse({ reason: 'shutting-down', retryAfterSeconds: SHUTDOWN_RETRY_SECONDS });
  }

  private candidates(): { ip: string; port: number }[] {
    return this.options.publicIps.map((ip) => ({ ip, port: this.options.udpPort() }));
  }

  /** Makes `session` a session resource (found by its id, with its ETag) for as long as it lives, and logs its life. */
  private register(kind: SessionKind, room: string, session: Session, mids: string[]): string {
    const etag = newEtag();
    this.sessions.set(session.id, { kind, room, session, etag, mids });
    const log = this.options.log.child({ room, session: session.id, kind });
    // The ufrag is what STUN checks (and a packet capture) show; the session id is what HTTP shows.
    log.info('session created', { ufrag: session.localUfrag });
    session.once('connected', () => {
      log.info('session connected', { srtp: session.srtpProfile, address: session.selectedAddress, ms: Date.now() - session.createdAt });
    });
    session.once('closed', (reason) => {
      this.sessions.delete(session.id);
      const c = session.counters;
      log.info('session closed', {
        reason,
        ...(session.failure !== undefined ? { failure: session.failure } : {}),
        packetsIn: c.rtpPackets,
        packetsOut: c.packetsOut,
        srtpAuthFailures: c.srtpAuthFailures,
      });
    });
    return etag;
  }
}

function refuse(failure: SignalingFailure): never {
  throw new SignalingError(failure);
}

/** The directory failed: its own refusal stands, anything else becomes 'directory-unavailable'. */
function directoryUnavailable(error: unknown): never {
  if (error instanceof SignalingError) throw error;
  refuse({ reason: 'directory-unavailable', retryAfterSeconds: NOTHING_PUBLISHED_RETRY_SECONDS });
}

/** Runs an SDP reader, its OfferError becoming the refusal it means. */
function readOffer<T>(read: () => T): T {
  try {
    return read();
  } catch (error) {
    if (!(error instanceof OfferError)) throw error;
    refuse({ reason: error.kind === 'malformed' ? 'offer-malformed' : 'offer-unacceptable', detail: error.message });
  }
}

/** A session resource's ETag: new at its creation and at each ICE restart. */
function newEtag(): string {
  return `"${randomBytes(12).toString('hex')}"`;
}

function checkRoomName(name: string): void {
  if (!isRoomName(name)) refuse({ reason: 'invalid-room-name' });
}
