// Wires onecast together: config → certificate → media engine (the UDP port) →
// recordings a crash left open, closed → SFU (rooms) → recordings service (what is
// recorded) → with REDIS_URL, the cluster's directory → the server's events (and their
// webhooks) → signaling service (WHIP/WHEP use cases) → thumbnails → HTTP app, then
// (unless an embedding application mounts that app itself) the HTTP listener. Tests start
// it in-process; the library (src/library/) starts it for main.ts and for applications
// that embed onecast.
import { EventEmitter } from 'node:events';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type express from 'express';
import { createAuthorizer, type Authorizer } from './auth/authorizer';
import type { Authorize } from './auth/types';
import { ClusterDirectory } from './cluster/directory';
import { announceRooms, loadOf } from './cluster/roomsPresence';
import { clusterSettingsOf } from './cluster/settings';
import { ViewerTotals } from './cluster/viewerTotals';
import { ConfigError, type Config, type FanoutSetting } from './config';
import { createCertificate } from './engine/dtls/certificate';
import { installNativeKeyExchange } from './engine/dtls/nativeKeyExchange';
import { MediaEngine } from './engine/engine';
import { createApp, notFound } from './http/app';
import type { ClusterServices } from './http/clusterServices';
import { HTTP_SERVER_OPTIONS, limitConnections } from './http/serverLimits';
import type { ServerEventMap } from './events';
import { type Logger, silentLogger } from './log';
import { ServerMetrics } from './metrics';
import { probeFfmpeg } from './recorder/ffmpeg';
import { RecordingRetention } from './recordings/retention';
import { repairInterrupted } from './recordings/repair';
import { RecordingService, type RecordingOptions } from './recordings/recordingService';
import { RecordingStore } from './recordings/store';
import { ServerEvents } from './serverEvents/serverEvents';
import { SignalingService } from './signaling/service';
import type { UpstreamDirectory } from './signaling/upstream';
import { Relays } from './relay/relays';
import { Sfu } from './sfu/sfu';
import type { FanoutPath } from './sfu/forwarder';
import { jsFanout } from './sfu/jsFanout';
import { createNativeFanout } from './sfu/nativeFanout';
import { loadFanoutAddon } from './engine/native/fanoutAddon';
import type { UdpMux } from './engine/udpMux';
import { readTlsFiles } from './tls';
import { Webhooks } from './webhooks/webhooks';
import { snapshot } from './thumbnails/snapshot';
import { THUMBNAIL_DEFAULTS, ThumbnailService } from './thumbnails/thumbnailService';

export interface ServerOptions {
  log?: Logger;
  /** RFC 7675 consent timeout; 30 s unless a test needs it shorter. */
  consentTimeoutMs?: number;
  /** How long a session may wait for its first verified STUN check; 10 s unless a test needs it shorter. */
  iceTimeoutMs?: number;
  /** Decides who may publish and watch, instead of every configured mode (PUBLISH_TOKEN, PLAY_TOKEN, STREAM_KEYS, JWT_*, AUTH_HOOK_URL). */
  authorize?: Authorize;
  /** Where rooms published on other nodes are: WHEP POSTs for them are served by a relay (relay/relays.ts). */
  upstreams?: UpstreamDirectory;
  /** How long a relay stays after its room's last local viewer left; RELAY_GRACE_MS unless a test needs it shorter. */
  relayGraceMs?: number;
  /** A test's packet loss on the relays' sockets: true drops the SRTP datagram. */
  relayDropDatagram?: (datagram: Buffer) => boolean;
}

/** The server's events, what emits them, and the webhooks that send them on. */
interface Outward {
  events: EventEmitter<ServerEventMap>;
  serverEvents: ServerEvents;
  /** With WEBHOOK_URL. */
  webhooks: Webhooks | undefined;
}

type TlsFiles = ReturnType<typeof readTlsFiles>;

export class OnecastServer {
  /** publish, unpublish, viewer (batched per room), recording: see src/events.ts. */
  readonly events: EventEmitter<ServerEventMap>;
  private httpServer: http.Server | undefined;

  private constructor(
    readonly config: Config,
    readonly engine: MediaEngine,
    readonly sfu: Sfu,
    readonly signaling: SignalingService,
    readonly recordingService: RecordingService,
    /** The HTTP side whole (WHIP, WHEP, API, recordings, pages); a request it has no route for goes to `next`. */
    readonly handler: express.Express,
    private readonly tls: TlsFiles | undefined,
    private readonly log: Logger,
    readonly retention: RecordingRetention,
    private readonly outward: Outward,
    private readonly authorizer: Authorizer,
    private readonly thumbnails: ThumbnailService,
    /** With REDIS_URL. */
    private readonly directory: ClusterDirectory | undefined,
    /** With ServerOptions.upstreams: this node's relays of rooms published elsewhere. */
    readonly relays: Relays | undefined,
  ) {
    this.events = outward.events;
  }

  /** Builds and listens: onecast as the command line runs it. */
  static async start(config: Config, options: ServerOptions = {}): Promise<OnecastServer> {
    const server = await OnecastServer.build(config, options);
    try {
      await server.listen();
    } catch (error) {
      await server.close();
      throw error;
    }
    return server;
  }

  /**
   * Everything but the HTTP listener: the UDP port bound, recordings left open by a crash
   * closed, the rooms, recording, events and the HTTP app (`handler`) ready. Media flows
   * from here on; HTTP requests reach onecast once `listen()` opens HTTP_PORT or an
   * application mounts `handler`.
   */
  static async build(config: Config, options: ServerOptions = {}): Promise<OnecastServer> {
    const log = options.log ?? silentLogger;
    // Before anything binds: a wrong TLS file stops start-up with nothing to undo.
    const tls = config.tlsCert !== undefined && config.tlsKey !== undefined ? readTlsFiles(config.tlsCert, config.tlsKey) : undefined;
    // So does a STREAM_KEYS file or JWT_PUBLIC_KEY that cannot be used: the authorizer reads them now.
    const authorizer = createAuthorizer(config, { log, custom: options.authorize });
    const certificate = await createCertificate();
    const engine = new MediaEngine({
      bind: config.bind,
      udpPort: config.udpPort,
      certificate,
      ...(options.consentTimeoutMs !== undefined ? { consentTimeoutMs: options.consentTimeoutMs } : {}),
      ...(options.iceTimeoutMs !== undefined ? { iceTimeoutMs: options.iceTimeoutMs } : {}),
    });
    try {
      await engine.start();
    } catch (error) {
      authorizer.close();
      throw error;
    }
    let fanout: { path: FanoutPath; note?: string };
    try {
      fanout = chooseFanout(config.fanout, engine.mux);
    } catch (error) {
      authorizer.close();
      await engine.close();
      throw error;
    }
    // Before 'onecast ready': whoever waits for that line has the reason already.
    if (fanout.note !== undefined) log.info(fanout.note);
    // The recordings index: read from disk in the background from now on (a listing
    // waits for it), then kept current by the recorders, the HTTP routes and retention.
    const recordings = new RecordingStore(config.recordingsDir, {
      isActive: (room, id) => recordingService.isRecording(room, id),
      activeRecordings: () => recordingService.activeRecordings(),
    });
    // Before any recorder can run and before the index is read: what a crash left
    // recording is closed and marked interrupted.
    await repairInterrupted(recordings, log);
    const retention = new RecordingRetention(recordings, { maxAgeMs: config.recordingsMaxAgeMs, maxBytes: config.recordingsMaxBytes, log });
    const recording = await recordingOptions(config, log);
    const sfu = new Sfu({ log, limits: config, fanout: fanout.path });
    const recordingService = new RecordingService(sfu.rooms, {
      recording,
      // Plain RTP to ffmpeg on loopback, from UDP_PORT's loopback socket (the primary one if there is none).
      send: (packet, port) => engine.mux.send(packet, { address: '127.0.0.1', port, local: '127.0.0.1' }),
      log,
    });
    recordingService.on('ended', ({ room, id }) => {
      recordings.refresh(room, id).then(
        () => retention.sweep(),
        (error: unknown) => log.warn('recordings index: cannot read an ended recording', { room, id, error: String(error) }),
      );
    });
    const directory = await clusterDirectory(config, sfu, log);
    // A test's fixed map, or in a cluster the directory in Redis.
    const upstreams = options.upstreams ?? directory;
    const relays =
      upstreams === undefined
        ? undefined
        : new Relays(sfu.rooms, {
            log,
            upstreams,
            ...(options.relayGraceMs !== undefined ? { graceMs: options.relayGraceMs } : {}),
            ...(options.relayDropDatagram !== undefined ? { dropDatagram: options.relayDropDatagram } : {}),
          });
    const signaling = new SignalingService(engine, sfu, recordingService, {
      log,
      publicIps: config.publicIps,
      udpPort: () => engine.mux.localPort,
      publishersAuthenticated: !authorizer.isOpen('publish'),
      ...(upstreams !== undefined && relays !== undefined ? { upstreams, relays } : {}),
      ...(directory !== undefined ? { placement: directory } : {}),
    });
    const outward = outwardEvents(config, sfu, recordingService, log);
    const thumbnails = new ThumbnailService(sfu.rooms, {
      ...THUMBNAIL_DEFAULTS,
      log,
      run: (stream, limits, signal) => snapshot(config.ffmpegPath, stream, limits, signal),
    });
    const cluster = directory === undefined ? undefined : clusterServices(directory, sfu);
    const services = { signaling, rooms: sfu.rooms, recording: recordingService, thumbnails, authorizer, cluster };
    const app = createApp(config, services, log, new ServerMetrics(engine, sfu, recordingService, outward.webhooks, thumbnails), recordings);
    const server = new OnecastServer(
      config,
      engine,
      sfu,
      signaling,
      recordingService,
      app,
      tls,
      log,
      retention,
      outward,
      authorizer,
      thumbnails,
      directory,
      relays,
    );
    recordings.load().catch((error: unknown) => log.error('recordings index: cannot read RECORDINGS_DIR', { dir: config.recordingsDir, error: String(error) }));
    retention.start();
    log.info('onecast ready', {
      udp: server.udpPort,
      bind: config.bind,
      publicIps: config.publicIps,
      certificate: certificate.fingerprint,
      fanout: fanout.path.name,
      cluster: directory === undefined ? 'off' : { node: directory.nodeId, url: config.nodeUrl },
      // Where the events go, without the path (it may hold a receiver's token).
      webhooks: config.webhookUrl === undefined ? 'off' : new URL(config.webhookUrl).origin,
      // Once per process; says whether werift's DTLS key exchange runs on OpenSSL or, and why, in JavaScript.
      dtlsKeyExchange: installNativeKeyExchange(),
    });
    return server;
  }

  /** Opens HTTP_PORT on BIND (HTTPS with TLS_CERT and TLS_KEY) for `handler`; what it has no route for gets a 404 problem. */
  async listen(): Promise<void> {
    const app = this.handler;
    // Express has set its request and response prototypes on both by the time `next` runs.
    const respond = (request: http.IncomingMessage, response: http.ServerResponse): void => {
      const [req, res] = [request as express.Request, response as express.Response];
      app(req, res, () => notFound(req, res));
    };
    const httpServer =
      this.tls === undefined ? http.createServer(HTTP_SERVER_OPTIONS, respond) : https.createServer({ ...this.tls, ...HTTP_SERVER_OPTIONS }, respond);
    limitConnections(httpServer, this.config);
    await new Promise<void>((resolve, reject) => {
      httpServer.once('error', reject);
      httpServer.listen(this.config.httpPort, this.config.bind, () => {
        httpServer.off('error', reject);
        resolve();
      });
    });
    this.httpServer = httpServer;
    this.log.info('onecast listening', { http: this.httpPort, https: this.tls !== undefined, udp: this.udpPort, bind: this.config.bind });
  }

  /** The HTTP listener's port; only once `listen()` has opened it. */
  get httpPort(): number {
    if (this.httpServer === undefined) throw new Error('onecast has no HTTP listener of its own: its handler is mounted by the application');
    return (this.httpServer.address() as AddressInfo).port;
  }

  get udpPort(): number {
    return this.engine.mux.localPort;
  }

  /**
   * Stops accepting first: the listener closes (idle keep-alive connections with it)
   * and the signaling service answers 503 to requests already under way. Then every
   * session ends, every recording is finalized, the UDP sockets close, the webhooks
   * still queued get SHUTDOWN_DEADLINE_MS (2 s), and the last connections close.
   */
  async close(): Promise<void> {
    const httpServer = this.httpServer;
    const httpClosed = new Promise<void>((resolve) => (httpServer === undefined ? resolve() : httpServer.close(() => resolve())));
    this.log.info('not accepting new connections or sessions');
    this.retention.stop();
    this.authorizer.close();
    const thumbnailsDone = this.thumbnails.close();
    // The relays first (their upstream sessions DELETEd), so none is pulled again; then every
    // session ends: each publish's 'unpublish' (reason shutdown) is emitted here, and its
    // origin lease is let go.
    this.relays?.close();
    this.signaling.close();
    await this.directory?.close();
    await this.recordingService.close();
    await thumbnailsDone;
    await this.engine.close();
    // The viewers' last changes, then at most a short deadline for the webhooks still queued.
    this.outward.serverEvents.flush();
    await this.outward.webhooks?.close();
    httpServer?.closeAllConnections();
    await httpClosed;
    this.log.info('onecast stopped');
  }
}

/** What the HTTP side reads of the cluster, from its directory. */
function clusterServices(directory: ClusterDirectory, sfu: Sfu): ClusterServices {
  return {
    nodeUrl: directory.nodeUrl,
    nodes: () => directory.nodes(),
    rooms: () => directory.rooms(),
    totals: new ViewerTotals(
      (room) => directory.viewersOf(room),
      (room) => sfu.rooms.get(room)?.viewers.size ?? 0,
    ),
    credential: () => directory.credential(),
  };
}

/** With REDIS_URL: this node in the cluster's directory, its rooms announced there. */
async function clusterDirectory(config: Config, sfu: Sfu, log: Logger): Promise<ClusterDirectory | undefined> {
  const settings = clusterSettingsOf(config);
  if (settings === undefined) return undefined;
  const directory = await ClusterDirectory.open(settings, log, () => loadOf(sfu.rooms), config);
  announceRooms(sfu.rooms, directory, log);
  return directory;
}

/** Recording needs a working ffmpeg; without one, onecast streams live and says so in one line. */
async function recordingOptions(config: Config, log: Logger): Promise<RecordingOptions | undefined> {
  const probe = await probeFfmpeg(config.ffmpegPath);
  if (!probe.ok) {
    log.warn(`recording is off: ${probe.reason}`);
    return undefined;
  }
  if (probe.note !== undefined) log.warn(probe.note);
  return { dir: config.recordingsDir, ffmpegPath: config.ffmpegPath, always: config.record, maxRecordings: config.maxRecordings };
}

/** The server's events, read off the rooms and the recordings, and with WEBHOOK_URL their webhooks. */
function outwardEvents(config: Config, sfu: Sfu, recordings: RecordingService, log: Logger): Outward {
  const events = new EventEmitter<ServerEventMap>();
  const serverEvents = new ServerEvents(events, { rooms: sfu.rooms, recordings, log });
  const webhooks = config.webhookUrl === undefined ? undefined : new Webhooks(events, { url: config.webhookUrl, secret: config.webhookSecret, log });
  return { events, serverEvents, webhooks };
}

/**
 * The fan-out path FANOUT asks for: native when the addon loads and this Node shows it the
 * media sockets' file descriptors, else JavaScript with a note saying why (FANOUT=auto), or,
 * when FANOUT=native demands it, a stop at start-up.
 */
function chooseFanout(setting: FanoutSetting, mux: UdpMux): { path: FanoutPath; note?: string } {
  if (setting === 'js') return { path: jsFanout };
  const loaded = loadFanoutAddon();
  if ('addon' in loaded && mux.routable) return { path: createNativeFanout(loaded.addon, mux) };
  const reason = 'reason' in loaded ? loaded.reason : "this Node does not show the media socket's file descriptor to it";
  if (setting === 'native') throw new ConfigError(`FANOUT=native, but the native fan-out cannot be used: ${reason}`);
  return { path: jsFanout, note: `fan-out: JavaScript, as the native addon cannot be used: ${reason}` };
}
