// Wires onecast together: config → certificate → media engine (the UDP port) →
// SFU (rooms) → HTTP. Tests start it in-process; main.ts starts it for real.
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Config } from './config';
import { createCertificate } from './engine/dtls/certificate';
import { MediaEngine } from './engine/engine';
import { createApp } from './http/app';
import { HTTP_SERVER_OPTIONS, limitConnections } from './http/serverLimits';
import { type Logger, silentLogger } from './log';
import { ServerMetrics } from './metrics';
import { probeFfmpeg } from './recorder/ffmpeg';
import { Sfu, type RecordingOptions } from './sfu/sfu';
import { readTlsFiles } from './tls';

export interface ServerOptions {
  log?: Logger;
  /** RFC 7675 consent timeout; 30 s unless a test needs it shorter. */
  consentTimeoutMs?: number;
}

export class OnecastServer {
  private constructor(
    readonly config: Config,
    readonly engine: MediaEngine,
    readonly sfu: Sfu,
    private readonly httpServer: http.Server,
    private readonly log: Logger,
  ) {}

  static async start(config: Config, options: ServerOptions = {}): Promise<OnecastServer> {
    const log = options.log ?? silentLogger;
    // Before anything binds: a wrong TLS file stops start-up with nothing to undo.
    const tls = config.tlsCert !== undefined && config.tlsKey !== undefined ? readTlsFiles(config.tlsCert, config.tlsKey) : undefined;
    const certificate = await createCertificate();
    const engine = new MediaEngine({
      bind: config.bind,
      udpPort: config.udpPort,
      certificate,
      ...(options.consentTimeoutMs !== undefined ? { consentTimeoutMs: options.consentTimeoutMs } : {}),
    });
    await engine.start();
    const recording = await recordingOptions(config, log);
    const sfu = new Sfu(engine, { log, recording, publicIps: config.publicIps, udpPort: () => engine.mux.localPort });
    const app = createApp(config, sfu, log, new ServerMetrics(engine, sfu));
    const httpServer = tls === undefined ? http.createServer(HTTP_SERVER_OPTIONS, app) : https.createServer({ ...tls, ...HTTP_SERVER_OPTIONS }, app);
    limitConnections(httpServer, config);
    try {
      await new Promise<void>((resolve, reject) => {
        httpServer.once('error', reject);
        httpServer.listen(config.httpPort, config.bind, () => {
          httpServer.off('error', reject);
          resolve();
        });
      });
    } catch (error) {
      await engine.close();
      throw error;
    }
    const server = new OnecastServer(config, engine, sfu, httpServer, log);
    log.info('onecast listening', {
      http: server.httpPort,
      https: tls !== undefined,
      udp: server.udpPort,
      bind: config.bind,
      publicIps: config.publicIps,
      certificate: certificate.fingerprint,
    });
    return server;
  }

  get httpPort(): number {
    return (this.httpServer.address() as AddressInfo).port;
  }

  get udpPort(): number {
    return this.engine.mux.localPort;
  }

  /**
   * Stops accepting first: the listener closes (idle keep-alive connections with it)
   * and the SFU answers 503 to requests already under way. Then every session ends,
   * every recording is finalized, and the UDP socket and the last connections close.
   */
  async close(): Promise<void> {
    const httpClosed = new Promise<void>((resolve) => this.httpServer.close(() => resolve()));
    this.log.info('not accepting new connections or sessions');
    await this.sfu.close();
    await this.engine.close();
    this.httpServer.closeAllConnections();
    await httpClosed;
    this.log.info('onecast stopped');
  }
}

/** Recording needs a working ffmpeg; without one, onecast streams live and says so in one line. */
async function recordingOptions(config: Config, log: Logger): Promise<RecordingOptions | undefined> {
  const probe = await probeFfmpeg(config.ffmpegPath);
  if (!probe.ok) {
    log.warn(`recording is off: ${probe.reason}`);
    return undefined;
  }
  if (probe.note !== undefined) log.warn(probe.note);
  return { dir: config.recordingsDir, ffmpegPath: config.ffmpegPath, always: config.record };
}
