// What WHIP and WHEP requests do to rooms, once HTTP is out of the way: negotiate
// the offer, create the engine session, put it in its room, answer. No HTTP here.
import { randomBytes } from 'node:crypto';
import type { MediaEngine } from '../engine/engine';
import type { Session } from '../engine/session';
import { buildAnswer } from '../sdp/answer';
import { negotiate, parseOffer } from '../sdp/offer';
import { negotiatePlay, sourceTracks } from '../sdp/play';
import { buildRestartFrag, parseSdpFrag } from '../sdp/sdpfrag';
import type { Logger } from '../log';
import { Recorder } from '../recorder/recorder';
import { newRecordingId, RecordingsLayout } from '../recordings/layout';
import { Admission, type AdmissionLimits, type AdmissionRequest } from './admission';
import type { Publisher } from './publisher';
import type { RecorderFactory } from './room';
import { iceRoomName, isRoomName } from '../names';
import { Rooms } from './rooms';

export type SessionKind = 'publish' | 'play';

/** What a WHEP client is told to wait before retrying an empty room. */
const RETRY_AFTER_SECONDS = 2;
/** What a client is told to wait before retrying a server that is shutting down (a restart). */
const SHUTDOWN_RETRY_AFTER_SECONDS = 10;
/**
 * A publisher that has sent no RTP for this long may be replaced by a new WHIP POST:
 * OBS reconnecting after a crash or a dropped link must not wait for consent (30 s).
 * A live publisher sends every 20 ms (Opus) or at the frame rate.
 */
const PUBLISHER_IDLE_MS = 2_000;
/**
 * A publisher that has sent nothing yet (still in ICE or DTLS) counts as idle only once
 * this old: a handshake takes < 1 s on an idle machine (OBS-like client on loopback)
 * but seconds on a busy one, and two clients racing for a room should not evict each other.
 */
const CONNECTING_GRACE_MS = 5_000;
/** How often a WHIP POST waiting for a room's publisher to go silent looks again. */
const IDLE_POLL_MS = 100;

/** Whether a room's publisher may be replaced: no media for PUBLISHER_IDLE_MS, or still connecting after CONNECTING_GRACE_MS. */
function isIdle(publisher: Publisher, now: number): boolean {
  const lastMedia = publisher.lastPacketAt();
  return lastMedia === undefined ? now - publisher.session.createdAt >= CONNECTING_GRACE_MS : now - lastMedia >= PUBLISHER_IDLE_MS;
}

/** A request the SFU refuses, with the HTTP status that says why. */
export class SfuError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export interface Created {
  session: Session;
  answer: string;
  /** Strong entity tag of the session's ICE state (changes on ICE restart). */
  etag: string;
}

export interface RecordingOptions {
  dir: string;
  ffmpegPath: string;
  /** RECORD=on: every publish; otherwise only those that ask with ?record=1. */
  always: boolean;
  /** MAX_RECORDINGS: past it a publish streams live but is not recorded; 0: no limit. */
  maxRecordings: number;
  /** A recording has ended (finished or failed), its meta.json final: the index and retention look at it. */
  ended?: (room: string, id: string) => void;
}

export interface SfuOptions {
  log: Logger;
  /** Undefined when recording is off (no usable ffmpeg). */
  recording: RecordingOptions | undefined;
  publicIps: readonly string[];
  /** The UDP port the answer's candidates name (the one the mux is bound to). */
  udpPort(): number;
  limits: AdmissionLimits;
  /** PUBLISH_TOKEN is set: every publisher proved it, so none counts as a stranger's pending session. */
  publishersAuthenticated: boolean;
}

export class Sfu {
  readonly rooms = new Rooms();
  private readonly sessions = new Map<string, { kind: SessionKind; room: string; session: Session; etag: string; mids: string[] }>();
  readonly admission: Admission;

  constructor(private readonly engine: MediaEngine, private readonly options: SfuOptions) {
    this.admission = new Admission(options.limits);
  }

  /** Recordings being written now, by "room/id". */
  private readonly recorders = new Map<string, { room: string; id: string; recorder: Recorder }>();
  /** close() has begun. */
  private closing = false;

  /**
   * WHIP: a publisher's offer for `roomName` → its session and our answer. `record`:
   * ?record=1; `client`: the address the request came from.
   */
  publish(roomName: string, offerSdp: string, record = false, client?: string): Created {
    this.checkOpen();
    checkRoomName(roomName);
    const offer = parseOffer(offerSdp, 'publish');
    const media = negotiate(offer, 'publish');
    const existing = this.rooms.get(roomName)?.publisher;
    if (existing !== undefined) this.replaceIdle(roomName, existing);
    const request: AdmissionRequest = { kind: 'publish', room: roomName, client, trusted: this.options.publishersAuthenticated };
    this.admit(request);
    const session = this.engine.createSession({
      ufragPrefix: iceRoomName(roomName),
      remoteUfrag: offer.iceUfrag,
      remoteFingerprints: offer.fingerprints,
    });
    this.admission.admit(session, request);
    const room = this.rooms.getOrCreate(roomName);
    const recording = this.options.recording;
    const recordThis = recording !== undefined && (recording.always || record);
    if (record && recording === undefined) this.options.log.warn('recording requested but recording is off', { room: roomName });
    room.attachPublisher(session, media, recordThis ? this.recorderFactory(recording!) : undefined);
    const answer = buildAnswer({
      offer,
      role: 'publish',
      media,
      iceUfrag: session.localUfrag,
      icePwd: session.localPassword,
      fingerprint: this.engine.certificate.fingerprint,
      candidates: this.candidates(),
    });
    const etag = this.register('publish', roomName, session, media.map((m) => m.mid));
    return { session, answer, etag };
  }

  /** WHEP: a viewer's recvonly offer for `roomName` → its session and our answer; `client` as for publish(). */
  play(roomName: string, offerSdp: string, client?: string): Created {
    this.checkOpen();
    checkRoomName(roomName);
    const offer = parseOffer(offerSdp, 'play');
    const room = this.rooms.get(roomName);
    const publisher = room?.publisher;
    if (room === undefined || publisher === undefined) {
      throw new SfuError(409, 'Nothing published', `Room "${roomName}" has no publisher right now; try again when it goes live.`, { 'Retry-After': String(RETRY_AFTER_SECONDS) });
    }
    const media = negotiatePlay(offer, sourceTracks(publisher.media));
    const request: AdmissionRequest = { kind: 'play', room: roomName, client, trusted: false };
    this.admit(request);
    const session = this.engine.createSession({
      ufragPrefix: iceRoomName(roomName),
      remoteUfrag: offer.iceUfrag,
      remoteFingerprints: offer.fingerprints,
    });
    this.admission.admit(session, request);
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
    const etag = this.register('play', roomName, session, media.filter((m) => m.sourceKind !== undefined).map((m) => m.mid));
    return { session, answer, etag };
  }

  /** DELETE of a session resource: ends it at once. */
  end(kind: SessionKind, roomName: string, sessionId: string): void {
    this.entry(kind, roomName, sessionId).session.close('deleted');
  }

  /**
   * PATCH of a session resource (RFC 9725 §4.3): trickled candidates (ICE-lite has
   * no use for them: 204) or an ICE restart (new credentials: 200 with ours). Both
   * need If-Match (428 without it: RFC 9725 §4.3.2 makes trickle conditional too);
   * an If-Match other than "*" or the current ETag is stale (412). Anything refused
   * leaves the session as it was.
   */
  patch(kind: SessionKind, roomName: string, sessionId: string, body: string, ifMatch: string | undefined): { status: 204 } | { status: 200; fragment: string; etag: string } {
    const entry = this.entry(kind, roomName, sessionId);
    if (ifMatch === undefined) {
      throw new SfuError(428, 'Precondition Required', 'PATCH needs an If-Match header: the ETag from the POST (or from the last ICE restart), or "*" for an ICE restart.');
    }
    if (ifMatch !== '*' && ifMatch !== entry.etag) {
      throw new SfuError(412, 'Precondition Failed', 'If-Match does not name the session\'s current ETag; it changed (an ICE restart happened). Fetch it again or restart ICE with If-Match: "*".');
    }
    const frag = parseSdpFrag(body);
    const { session } = entry;
    const restart = frag.iceUfrag !== undefined && frag.iceUfrag !== session.remoteUfrag;
    if (!restart) return { status: 204 };
    if (frag.icePwd === undefined) throw new SfuError(400, 'Incomplete ICE restart', 'An ICE restart needs both a=ice-ufrag and a=ice-pwd.');
    this.engine.restartIce(session, frag.iceUfrag!);
    entry.etag = newEtag();
    this.options.log.info('ice restarted', { room: roomName, session: session.id, kind, ufrag: session.localUfrag });
    const fragment = buildRestartFrag({ iceUfrag: session.localUfrag, icePwd: session.localPassword, mids: entry.mids, candidates: this.candidates() });
    return { status: 200, fragment, etag: entry.etag };
  }

  /** A session resource's engine session (for the WHEP events extension); 404 when there is none. */
  session(kind: SessionKind, roomName: string, sessionId: string): Session {
    return this.entry(kind, roomName, sessionId).session;
  }

  private entry(kind: SessionKind, roomName: string, sessionId: string): { session: Session; etag: string; mids: string[] } {
    const entry = this.sessions.get(sessionId);
    if (entry === undefined || entry.kind !== kind || entry.room !== roomName) {
      throw new SfuError(404, 'No such session', `There is no ${kind === 'publish' ? 'WHIP' : 'WHEP'} session ${sessionId} in room "${roomName}"; it may have ended already.`);
    }
    return entry;
  }

  /** WHIP and WHEP session resources that exist now (for tests and metrics). */
  get sessionCount(): number {
    return this.sessions.size;
  }

  /** Recordings being written now (for tests and metrics). */
  get recordingCount(): number {
    return this.recorders.size;
  }

  /** Whether room/id is being recorded right now (its playlist still grows). */
  isRecording(room: string, id: string): boolean {
    return this.recorders.has(`${room}/${id}`);
  }

  /** The recordings being written right now. */
  activeRecordings(): { room: string; id: string }[] {
    return [...this.recorders.values()].map(({ room, id }) => ({ room, id }));
  }

  /**
   * Ends every session; resolves once every recording is finalized (EXT-X-ENDLIST,
   * meta.json). From here on new sessions are refused, so none (and no recording) can
   * start behind the shutdown's back.
   */
  async close(): Promise<void> {
    this.closing = true;
    for (const { session } of [...this.sessions.values()]) session.close('server-shutdown');
    this.rooms.closeAll();
    await Promise.all([...this.recorders.values()].map(({ recorder }) => recorder.close()));
  }

  /**
   * Before a WHIP POST for `roomName`: waits while the room's publisher may be going
   * silent, at most PUBLISHER_IDLE_MS. OBS restarted after a crash POSTs at once, within
   * 2 s of the dead publisher's last packet: it gets 201 once that publisher has been
   * silent 2 s, not a 409. A live publisher keeps sending, and the POST then gets its
   * 409 after the wait.
   */
  async untilPublisherMayBeReplaced(roomName: string): Promise<void> {
    const deadline = Date.now() + PUBLISHER_IDLE_MS;
    for (;;) {
      const publisher = this.rooms.get(roomName)?.publisher;
      const now = Date.now();
      if (publisher === undefined || isIdle(publisher, now) || now >= deadline || this.closing) return;
      await new Promise((resolve) => setTimeout(resolve, IDLE_POLL_MS));
    }
  }

  /**
   * A new WHIP POST for a room that has a publisher: an idle one (no media for
   * PUBLISHER_IDLE_MS) is closed at once ('replaced'), its viewers staying for the new
   * one; a live one keeps the room (409).
   */
  private replaceIdle(roomName: string, publisher: Publisher): void {
    const now = Date.now();
    const lastMedia = publisher.lastPacketAt();
    if (!isIdle(publisher, now)) {
      throw new SfuError(409, 'Room already has a publisher', `Room "${roomName}" already has a live publisher (media within the last ${PUBLISHER_IDLE_MS / 1000} s); stop it (DELETE its session) or publish to another room.`);
    }
    this.options.log.info('idle publisher replaced', { room: roomName, session: publisher.session.id, idleMs: now - (lastMedia ?? publisher.session.createdAt) });
    publisher.close('replaced');
  }

  private admit(request: AdmissionRequest): void {
    const refusal = this.admission.check(request);
    if (refusal !== undefined) throw new SfuError(refusal.status, refusal.title, refusal.detail, { 'Retry-After': String(refusal.retryAfterSeconds) });
  }

  private checkOpen(): void {
    if (this.closing) {
      throw new SfuError(503, 'Shutting down', 'The server is shutting down and takes no new sessions; try again once it is back.', { 'Retry-After': String(SHUTDOWN_RETRY_AFTER_SECONDS) });
    }
  }

  private recorderFactory(options: RecordingOptions): RecorderFactory {
    return (room, publisher) => {
      if (options.maxRecordings > 0 && this.recorders.size >= options.maxRecordings) {
        // The broadcast matters more than its archive: it goes on, live only, and says so.
        this.options.log.warn('not recording: MAX_RECORDINGS recordings are being written already; the publish streams live only', { room: room.name, maxRecordings: options.maxRecordings });
        return undefined;
      }
      const id = newRecordingId();
      const key = `${room.name}/${id}`;
      const recorder = new Recorder({
        room: room.name,
        id,
        dir: new RecordingsLayout(options.dir).recordingDir(room.name, id),
        ffmpegPath: options.ffmpegPath,
        ...(publisher.track('video') !== undefined ? { video: publisher.track('video')!.codec } : {}),
        ...(publisher.track('audio') !== undefined ? { audio: publisher.track('audio')!.codec } : {}),
        // Plain RTP to ffmpeg on loopback, from UDP_PORT's loopback socket (the primary one if there is none).
        send: (packet, port) => this.engine.mux.send(packet, { address: '127.0.0.1', port, local: '127.0.0.1' }),
        requestKeyframe: () => publisher.requestKeyframe(),
        log: this.options.log,
      });
      this.recorders.set(key, { room: room.name, id, recorder });
      const done = () => {
        this.recorders.delete(key);
        options.ended?.(room.name, id);
      };
      recorder.once('finished', done);
      recorder.once('failed', (reason) => {
        done();
        this.options.log.error('recording failed', { room: room.name, id, reason });
      });
      this.options.log.info('recording', { room: room.name, id });
      return recorder;
    };
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
      log.info('session closed', { reason, ...(session.failure !== undefined ? { failure: session.failure } : {}), packetsIn: c.rtpPackets, packetsOut: c.packetsOut, srtpAuthFailures: c.srtpAuthFailures });
    });
    return etag;
  }
}

/** A session resource's ETag: new at its creation and at each ICE restart. */
function newEtag(): string {
  return `"${randomBytes(12).toString('hex')}"`;
}

function checkRoomName(name: string): void {
  if (!isRoomName(name)) {
    throw new SfuError(400, 'Invalid room name', 'Room names are 1 to 64 characters of A-Z, a-z, 0-9, "_" and "-".');
  }
}
