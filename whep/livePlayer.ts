// WHEP live playback of one room that keeps itself going: it waits and retries while
// nothing is published (409 + Retry-After), and starts over after a failure (the
// connection failing or staying disconnected, the server restarting).
import { HttpProblem } from '../common/http';
import { endSession, iceServers, negotiate } from '../common/signaling';
import { followRoom, type RoomFollower } from './serverEvents';

export type LiveState = 'connecting' | 'waiting for the publisher' | 'live' | 'reconnecting' | 'failed' | 'stopped';

export interface LiveListener {
  state(state: LiveState): void;
  viewers(count: number | null, source: RoomFollower['source'] | null): void;
  /** A problem retrying cannot fix (a wrong token, a codec this browser lacks). */
  error(detail: string): void;
  /** A new peer connection, for the stats overlay. */
  connection(pc: RTCPeerConnection | null): void;
}

/** Retry delay when the server gave none (a network error, a 409 without Retry-After). */
const RETRY_SECONDS = 2;
/** A connection still 'disconnected' after this long is given up and made anew. */
const DISCONNECTED_GRACE_MS = 5000;

export class LivePlayer {
  private pc: RTCPeerConnection | null = null;
  private resource: string | null = null;
  private follower: RoomFollower | null = null;
  private publisherActive = true;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private disconnectedTimer: ReturnType<typeof setTimeout> | undefined;
  /** Bumped by every new attempt and by stop(): an older attempt's late results are dropped. */
  private attempt = 0;

  constructor(
    private readonly room: string,
    private readonly token: string,
    private readonly video: HTMLVideoElement,
    private readonly listener: LiveListener,
  ) {}

  start(): Promise<void> {
    return this.connect(true);
  }

  /** `announce`: say 'connecting'; retries keep saying why they wait ('waiting for the publisher', 'reconnecting'). */
  private async connect(announce: boolean): Promise<void> {
    const attempt = ++this.attempt;
    this.teardown();
    if (announce) this.listener.state('connecting');
    const endpoint = `/whep/${encodeURIComponent(this.room)}`;
    const servers = await iceServers(endpoint, this.token);
    if (attempt !== this.attempt) return;
    const pc = new RTCPeerConnection({ iceServers: servers });
    this.pc = pc;
    this.listener.connection(pc);
    pc.addTransceiver('video', { direction: 'recvonly' });
    pc.addTransceiver('audio', { direction: 'recvonly' });
    const stream = new MediaStream();
    pc.addEventListener('track', (e) => {
      stream.addTrack(e.track);
      this.video.srcObject = stream;
    });
    pc.addEventListener('connectionstatechange', () => this.connectionChanged(pc));
    let negotiated;
    try {
      negotiated = await negotiate(pc, endpoint, this.token);
    } catch (error) {
      if (attempt === this.attempt) this.refused(error);
      return;
    }
    if (attempt !== this.attempt) return void endSession(negotiated.resource, this.token);
    this.resource = negotiated.resource;
    this.publisherActive = true;
    const follower = await followRoom(this.room, negotiated.links, this.token, {
      publisher: (active) => {
        if (attempt !== this.attempt) return;
        this.publisherActive = active;
        this.showState();
      },
      viewers: (count, source) => {
        if (attempt === this.attempt) this.listener.viewers(count, source);
      },
    });
    if (attempt !== this.attempt) return follower.close();
    this.follower = follower;
  }

  stop(): void {
    this.attempt++;
    this.teardown();
    this.listener.state('stopped');
  }

  /** Ends the page's session at once (keepalive: the page is closing). */
  leave(): void {
    if (this.resource !== null) void endSession(this.resource, this.token, true);
    this.resource = null;
    this.stop();
  }

  private refused(error: unknown): void {
    this.teardown();
    if (error instanceof HttpProblem && error.status === 409) {
      this.listener.state('waiting for the publisher');
      return this.retry(error.retryAfter ?? RETRY_SECONDS);
    }
    // Worth retrying: no answer at all (fetch throws TypeError; the server restarting) or a
    // 5xx (503 when it is full). Not: a 4xx or an answer this browser refused.
    const passing = error instanceof TypeError || (error instanceof HttpProblem && error.status >= 500);
    if (!passing) {
      this.listener.error(error instanceof HttpProblem ? error.detail : (error as Error).message);
      return this.listener.state('failed');
    }
    this.listener.state('reconnecting');
    this.retry(error instanceof HttpProblem ? (error.retryAfter ?? RETRY_SECONDS) : RETRY_SECONDS);
  }

  private connectionChanged(pc: RTCPeerConnection): void {
    if (pc !== this.pc) return;
    clearTimeout(this.disconnectedTimer);
    if (pc.connectionState === 'failed') return this.reconnect();
    // 'disconnected' often heals by itself (a lost burst of checks); give it a moment.
    if (pc.connectionState === 'disconnected') this.disconnectedTimer = setTimeout(() => this.reconnect(), DISCONNECTED_GRACE_MS);
    this.showState();
  }

  private reconnect(): void {
    if (this.resource !== null) void endSession(this.resource, this.token);
    this.resource = null;
    this.teardown();
    this.listener.state('reconnecting');
    this.retry(1);
  }

  private showState(): void {
    if (this.pc?.connectionState !== 'connected') return this.listener.state(this.pc?.connectionState === 'disconnected' ? 'reconnecting' : 'connecting');
    this.listener.state(this.publisherActive ? 'live' : 'waiting for the publisher');
  }

  private retry(seconds: number): void {
    const attempt = this.attempt;
    this.retryTimer = setTimeout(() => {
      if (attempt === this.attempt) void this.connect(false);
    }, seconds * 1000);
  }

  /** Closes the connection and the room follower; the session resource is the caller's to end. */
  private teardown(): void {
    clearTimeout(this.retryTimer);
    clearTimeout(this.disconnectedTimer);
    this.follower?.close();
    this.follower = null;
    this.pc?.close();
    this.pc = null;
    this.listener.connection(null);
    this.listener.viewers(null, null);
  }
}
