/**
 * A WHIP publisher built the way OBS Studio's WHIP output (plugins/obs-webrtc/whip-output.cpp)
 * builds its session, on node-datachannel — the Node binding of libdatachannel, OBS's WebRTC
 * stack. What it mirrors:
 *
 * - one PeerConnection with no ICE servers; random 16-character media stream id and cname;
 *   a random base SSRC, audio = base, video = base + 1;
 * - audio: mid "0", sendonly, Opus PT 111, RTP packetizer (48 kHz) -> RTCP SR reporter ->
 *   NACK responder; video: mid "1", sendonly, H.264 PT 96, H264RtpPacketizer on Annex B start
 *   codes with 1200-byte fragments -> RTCP SR reporter -> NACK responder;
 * - setLocalDescription() and the offer read IMMEDIATELY, so it goes out with no candidates;
 * - POST with Content-Type: application/sdp, optional Authorization: Bearer, OBS's User-Agent,
 *   redirects followed, 8 s timeout; only 201 + Location + non-empty body is success;
 *   a relative Location is resolved against the (effective) endpoint URL; the answer is taken
 *   from "v=0" on;
 * - media: each encoded frame is handed whole to track.send(), after advancing the RTP
 *   timestamp by the frame's duration in the clock rate; frames are dropped while the track
 *   is not open;
 * - on PeerConnection 'disconnected' or 'failed' the output stops itself: close, then DELETE;
 * - stop: pc.close(), then DELETE the resource URL with the bearer token.
 *
 * Differences that cannot be avoided: node-datachannel has no OpusRtpPacketizer, so the generic
 * RtpPacketizer is used (libdatachannel's OpusRtpPacketizer is AudioRtpPacketizer<48000>, the
 * same one-packet-per-frame packetizer, marker bit set on every packet). RtcpSrReporter's
 * setNeedsToReport() is not exposed — and in libdatachannel >= 0.21 it is a no-op anyway: the
 * reporter sends an SR by itself at most once a second.
 */
import { randomInt } from 'node:crypto';
import nodeDataChannel, {
  Audio,
  H264RtpPacketizer,
  PeerConnection,
  RtcpNackResponder,
  RtcpSrReporter,
  RtpPacketizationConfig,
  RtpPacketizer,
  Video,
} from 'node-datachannel';
import type { Track } from 'node-datachannel';
import { FramePacer } from './framePacer';
import { isKeyframe } from './media';

export interface ObsPublisherOptions {
  /** the WHIP endpoint, e.g. http://127.0.0.1:8080/whip/room1 */
  endpoint: string;
  /** bearer token (OBS's "Bearer Token" field) */
  token?: string;
  media: { videoFrames: Buffer[]; audioFrames: Buffer[] };
  /** send a video track (default true); false = an OBS output without a video encoder */
  video?: boolean;
  /** send an audio track (default true) */
  audio?: boolean;
  /**
   * Remove a=candidate / a=end-of-candidates lines from the offer before POSTing it (default
   * false). libdatachannel gathers host candidates synchronously inside setLocalDescription()
   * when no ICE servers are configured, so OBS's offer, read immediately, does carry them; this
   * option produces the candidate-less offer of clients that post before gathering.
   */
  stripCandidates?: boolean;
  /** The HTTP client for the POST and the DELETE (default: global fetch); e.g. one that trusts a test CA for https. */
  fetch?: typeof fetch;
}

/** A WHIP request that OBS would treat as a failure. */
export class WhipRequestError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly body: string,
  ) {
    super(message);
    this.name = 'WhipRequestError';
  }
}

/**
 * Every node-datachannel object the harness made, held until cleanupDataChannel(). A Track
 * wrapper that is garbage-collected while libdatachannel still lists it makes cleanup()
 * dereference freed memory (node-datachannel 0.33: ~TrackWrapper does not unregister itself)
 * and the process dies with SIGSEGV. Holding the wrappers costs a few kB per session.
 */
const nativeObjects = new Set<unknown>();
/** publishers whose media may still be flowing; cleanupDataChannel() halts them */
const livePublishers = new Set<ObsLikePublisher>();

/** Keeps node-datachannel objects (PeerConnection, Track, ...) alive until cleanupDataChannel(). */
export function retainUntilCleanup<T>(obj: T): T {
  nativeObjects.add(obj);
  return obj;
}

const AUDIO_MID = '0';
const AUDIO_PAYLOAD_TYPE = 111;
const AUDIO_CLOCK_RATE = 48000;
const AUDIO_FRAME_SECONDS = 0.02;
const VIDEO_MID = '1';
const VIDEO_PAYLOAD_TYPE = 96;
const VIDEO_CLOCK_RATE = 90000;
const VIDEO_FPS = 30;
const MAX_VIDEO_FRAGMENT_SIZE = 1200;
const HTTP_TIMEOUT_MS = 8000; // CURLOPT_TIMEOUT 8
const SIGNALING_ID_LENGTH = 16;
const SIGNALING_ID_CHARS = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const USER_AGENT = `Mozilla/5.0 (OBS-Studio/31.0.0; ${process.platform === 'linux' ? 'Linux x86_64' : process.platform}; en-US)`;

function randomSignalingId(): string {
  let s = '';
  for (let i = 0; i < SIGNALING_ID_LENGTH; i++) s += SIGNALING_ID_CHARS[randomInt(SIGNALING_ID_CHARS.length)];
  return s;
}

/** uniform in [1, 2^32 - 2], as OBS's generate_random_u32() */
function randomU32(): number {
  return randomInt(1, 0xffffffff);
}

export class ObsLikePublisher {
  readonly resourceUrl: string;
  readonly offer: string;
  readonly answer: string;
  /** Date.now() just before the POST */
  readonly postedAt: number;
  /** the DELETE's failure, when stop() could not reach the server (its status is then 0) */
  deleteError: Error | undefined;

  private readonly pc: PeerConnection;
  private readonly token: string | undefined;
  private readonly fetch: typeof fetch;
  private readonly audioPacer: FramePacer | undefined;
  private readonly videoPacer: FramePacer | undefined;
  /** the tracks are held here so their callbacks live as long as the publisher */
  private readonly senders: Array<{ track: Track; pacer: FramePacer }>;
  private connectedAt: number | undefined;
  private lastState: string;
  private stateWaiters: Array<() => void> = [];
  private stopPromise: Promise<number> | undefined;

  private constructor(init: {
    pc: PeerConnection;
    token: string | undefined;
    fetch: typeof fetch;
    resourceUrl: string;
    offer: string;
    answer: string;
    postedAt: number;
    audioPacer: FramePacer | undefined;
    videoPacer: FramePacer | undefined;
    senders: Array<{ track: Track; pacer: FramePacer }>;
    stateBox: StateBox;
  }) {
    this.pc = init.pc;
    this.token = init.token;
    this.fetch = init.fetch;
    this.resourceUrl = init.resourceUrl;
    this.offer = init.offer;
    this.answer = init.answer;
    this.postedAt = init.postedAt;
    this.audioPacer = init.audioPacer;
    this.videoPacer = init.videoPacer;
    this.senders = init.senders;
    this.lastState = init.stateBox.state;
    this.connectedAt = init.stateBox.connectedAt;
    init.stateBox.onChange = (state, at) => this.onState(state, at);
  }

  /**
   * Builds the PeerConnection, POSTs the offer and applies the answer. Resolves once the
   * endpoint has answered 201 and the answer is set; media starts when the tracks open.
   * Rejects with a WhipRequestError (status, body) on anything OBS would reject.
   */
  static async start(opts: ObsPublisherOptions): Promise<ObsLikePublisher> {
    const withAudio = opts.audio !== false;
    const withVideo = opts.video !== false;
    if (!withAudio && !withVideo) throw new Error('ObsLikePublisher: nothing to publish (audio and video both off)');

    const stateBox: StateBox = { state: 'new', connectedAt: undefined, onChange: undefined };
    const pc = retainUntilCleanup(new PeerConnection('obs', { iceServers: [] }));
    pc.onStateChange((state) => {
      if (state === 'connected' && stateBox.connectedAt === undefined) stateBox.connectedAt = Date.now();
      stateBox.state = state;
      stateBox.onChange?.(state, Date.now());
    });

    try {
      const mediaStreamId = randomSignalingId();
      const cname = randomSignalingId();
      const baseSsrc = randomU32();
      const senders: Array<{ track: Track; pacer: FramePacer }> = [];
      let audioPacer: FramePacer | undefined;
      let videoPacer: FramePacer | undefined;

      // ConfigureAudioTrack
      if (withAudio) {
        const ssrc = baseSsrc;
        const audio = new Audio(AUDIO_MID, 'SendOnly');
        audio.addOpusCodec(AUDIO_PAYLOAD_TYPE);
        audio.addSSRC(ssrc, cname, mediaStreamId, `${mediaStreamId}-audio`);
        const track = retainUntilCleanup(pc.addTrack(audio));
        const config = new RtpPacketizationConfig(ssrc, cname, AUDIO_PAYLOAD_TYPE, AUDIO_CLOCK_RATE);
        const packetizer = new RtpPacketizer(config);
        const srReporter = new RtcpSrReporter(config);
        const nackResponder = new RtcpNackResponder();
        packetizer.addToChain(srReporter);
        packetizer.addToChain(nackResponder);
        track.setMediaHandler(packetizer);
        retainUntilCleanup([audio, config, packetizer, srReporter, nackResponder]);
        audioPacer = new FramePacer(track, config, opts.media.audioFrames, AUDIO_FRAME_SECONDS, undefined);
        senders.push({ track, pacer: audioPacer });
      }

      // ConfigureVideoTrack (H.264)
      if (withVideo) {
        const ssrc = (baseSsrc + 1) >>> 0;
        const video = new Video(VIDEO_MID, 'SendOnly');
        video.addSSRC(ssrc, cname, mediaStreamId, `${mediaStreamId}-video`);
        const config = new RtpPacketizationConfig(ssrc, cname, VIDEO_PAYLOAD_TYPE, VIDEO_CLOCK_RATE);
        video.addH264Codec(VIDEO_PAYLOAD_TYPE);
        const packetizer = new H264RtpPacketizer('StartSequence', config, MAX_VIDEO_FRAGMENT_SIZE);
        const srReporter = new RtcpSrReporter(config);
        const nackResponder = new RtcpNackResponder();
        packetizer.addToChain(srReporter);
        packetizer.addToChain(nackResponder);
        const track = retainUntilCleanup(pc.addTrack(video));
        track.setMediaHandler(packetizer);
        retainUntilCleanup([video, config, packetizer, srReporter, nackResponder]);
        const keyframes = opts.media.videoFrames.map((f) => isKeyframe(f));
        videoPacer = new FramePacer(track, config, opts.media.videoFrames, 1 / VIDEO_FPS, keyframes);
        senders.push({ track, pacer: videoPacer });
      }

      // Setup(): setLocalDescription; Connect(): read it right away, no waiting for candidates
      pc.setLocalDescription();
      const local = pc.localDescription();
      if (!local) throw new Error('ObsLikePublisher: libdatachannel produced no local description');
      const offer = opts.stripCandidates
        ? local.sdp
            .split(/\r?\n/)
            .filter((line) => !line.startsWith('a=candidate:') && line !== 'a=end-of-candidates')
            .join('\r\n')
        : local.sdp;

      const headers: Record<string, string> = {
        'Content-Type': 'application/sdp',
        'User-Agent': USER_AGENT,
      };
      if (opts.token) headers.Authorization = `Bearer ${opts.token}`;

      const postedAt = Date.now();
      let res: Response;
      let body: string;
      try {
        res = await (opts.fetch ?? fetch)(opts.endpoint, {
          method: 'POST',
          headers,
          body: offer,
          redirect: 'follow',
          signal: AbortSignal.timeout(HTTP_TIMEOUT_MS),
        });
        body = await res.text();
      } catch (err) {
        throw new WhipRequestError(`WHIP connect failed: POST ${opts.endpoint}: ${(err as Error).message}`, 0, '');
      }
      if (res.status !== 201) {
        throw new WhipRequestError(`WHIP connect failed: HTTP endpoint returned response code ${res.status}: ${body}`, res.status, body);
      }
      if (body.length === 0) {
        throw new WhipRequestError('WHIP connect failed: no data returned from HTTP endpoint request', res.status, body);
      }
      const location = res.headers.get('location');
      if (!location) {
        throw new WhipRequestError('WHIP server did not provide a resource URL via the Location header', res.status, body);
      }
      let resourceUrl: string;
      try {
        resourceUrl = new URL(location, res.url || opts.endpoint).href;
      } catch {
        throw new WhipRequestError(`WHIP server provided an invalid resource URL via the Location header: ${location}`, res.status, body);
      }

      const v0 = body.indexOf('v=0');
      const answer = v0 >= 0 ? body.slice(v0) : body;
      try {
        pc.setRemoteDescription(answer, 'answer');
      } catch (err) {
        throw new WhipRequestError(`WHIP answer rejected by libdatachannel: ${(err as Error).message}`, res.status, body);
      }

      const publisher: ObsLikePublisher = new ObsLikePublisher({
        pc,
        token: opts.token,
        fetch: opts.fetch ?? fetch,
        resourceUrl,
        offer,
        answer,
        postedAt,
        audioPacer,
        videoPacer,
        senders,
        stateBox,
      });
      livePublishers.add(publisher);
      // obs_output_begin_data_capture(): the encoders run; frames reach a track once it is open
      // (no track.onClosed(): with node-datachannel 0.33, an onClosed handler on a track that has
      // a media handler keeps the process alive even after cleanup())
      for (const { track, pacer } of senders) {
        track.onOpen(() => pacer.start());
        if (track.isOpen()) pacer.start();
      }
      return publisher;
    } catch (err) {
      try {
        pc.close();
      } catch {
        /* already closed */
      }
      throw err;
    }
  }

  private onState(state: string, _at: number): void {
    this.lastState = state;
    if (state === 'connected' && this.connectedAt === undefined) this.connectedAt = Date.now();
    const waiters = this.stateWaiters;
    this.stateWaiters = [];
    for (const w of waiters) w();
    if ((state === 'disconnected' || state === 'failed') && !this.stopPromise) {
      // OBS: PeerConnection Disconnected/Failed -> Stop(false): close + DELETE
      setImmediate(() => {
        this.stop().catch(() => undefined);
      });
    }
  }

  /** Resolves with the milliseconds from the POST to PeerConnection state 'connected'. */
  waitConnected(timeoutMs = 10_000): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      const check = (): boolean => {
        if (this.connectedAt !== undefined) {
          resolve(this.connectedAt - this.postedAt);
          return true;
        }
        if (this.lastState === 'failed' || this.lastState === 'closed' || this.lastState === 'disconnected') {
          reject(new Error(`ObsLikePublisher: PeerConnection reached '${this.lastState}' without connecting`));
          return true;
        }
        return false;
      };
      const waiter = (): void => {
        if (check()) {
          clearTimeout(timer);
        } else {
          this.stateWaiters.push(waiter);
        }
      };
      if (check()) return;
      // Armed before waiter is registered: waiter, which clears it, runs only on a later state change.
      const timer = setTimeout(() => {
        this.stateWaiters = this.stateWaiters.filter((w) => w !== waiter);
        reject(
          new Error(`ObsLikePublisher: not connected within ${timeoutMs} ms (PeerConnection state '${this.lastState}', ` + `ICE '${this.safeIceState()}')`),
        );
      }, timeoutMs);
      this.stateWaiters.push(waiter);
    });
  }

  stats(): { videoFramesSent: number; audioFramesSent: number; keyframesSent: number; state: string } {
    return {
      videoFramesSent: this.videoPacer?.sent ?? 0,
      audioFramesSent: this.audioPacer?.sent ?? 0,
      keyframesSent: this.videoPacer?.keyframes ?? 0,
      state: this.lastState,
    };
  }

  /**
   * Stops sending, closes the PeerConnection, then DELETEs the resource URL with the bearer
   * token, as OBS's StopThread() does. Resolves with the DELETE's HTTP status (0 when the
   * server could not be reached; see deleteError). Idempotent: later calls return the same
   * promise.
   */
  stop(): Promise<number> {
    if (!this.stopPromise) this.stopPromise = this.doStop();
    return this.stopPromise;
  }

  /** Stops the media timers (no close, no DELETE). */
  haltMedia(): void {
    for (const { pacer } of this.senders) pacer.stop();
    livePublishers.delete(this);
  }

  /**
   * Vanishes as a crashed OBS or a pulled cable would: stops sending and closes the
   * PeerConnection, with no DELETE. Later stop() calls only return 0.
   */
  abandon(): void {
    this.stopPromise ??= Promise.resolve(0);
    this.closeMedia();
  }

  private closeMedia(): void {
    this.haltMedia();
    try {
      this.pc.close();
    } catch {
      /* already closed */
    }
  }

  private async doStop(): Promise<number> {
    this.closeMedia();
    const headers: Record<string, string> = { 'User-Agent': USER_AGENT };
    if (this.token) headers.Authorization = `Bearer ${this.token}`;
    try {
      const res = await this.fetch(this.resourceUrl, {
        method: 'DELETE',
        headers,
        signal: AbortSignal.timeout(HTTP_TIMEOUT_MS),
      });
      await res.arrayBuffer().catch(() => undefined);
      return res.status;
    } catch (err) {
      this.deleteError = err as Error;
      return 0;
    }
  }

  private safeIceState(): string {
    try {
      return this.pc.iceState();
    } catch {
      return 'unknown';
    }
  }
}

interface StateBox {
  state: string;
  connectedAt: number | undefined;
  onChange: ((state: string, at: number) => void) | undefined;
}

/**
 * Closes every node-datachannel object and frees libdatachannel's threads, so the test process
 * can exit (node-datachannel keeps it alive otherwise). Call from the test's after-hook once the
 * publishers are stopped; creating publishers afterwards works (libdatachannel re-initialises).
 */
export function cleanupDataChannel(): void {
  for (const publisher of [...livePublishers]) publisher.haltMedia();
  nodeDataChannel.cleanup();
  nativeObjects.clear();
}
