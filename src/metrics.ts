// GET /metrics: what the server is doing, in Prometheus's text format (prom-client).
// Nothing here runs per packet: every value is read at scrape time from counters
// the engine and the SFU keep anyway. Publishers and viewers take their counters
// with them when they leave, so their final figures are added to running totals
// as they go; a counter never goes down.
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { MediaEngine } from './engine/engine';
import type { DropReason } from './engine/udpMux';
import type { Publisher } from './sfu/publisher';
import type { Room } from './sfu/room';
import type { RecordingService } from './recordings/recordingService';
import type { Sfu } from './sfu/sfu';
import type { ThumbnailService } from './thumbnails/thumbnailService';
import type { Viewer } from './sfu/viewer';
import type { Webhooks } from './webhooks/webhooks';

/** Media counters summed over publishers and viewers. */
interface MediaTotals {
  rtpPacketsIn: number;
  rtpBytesIn: number;
  rtpPacketsOut: number;
  rtpBytesOut: number;
  nackResends: number;
  nackResendsRefused: number;
  keyframeRequests: number;
  /** Datagrams to viewers sent past the UDP mux (the native fan-out), their bytes, and those it dropped. */
  directDatagramsOut: number;
  directBytesOut: number;
  fanoutDropped: number;
}

function zeroTotals(): MediaTotals {
  return {
    rtpPacketsIn: 0,
    rtpBytesIn: 0,
    rtpPacketsOut: 0,
    rtpBytesOut: 0,
    nackResends: 0,
    nackResendsRefused: 0,
    keyframeRequests: 0,
    directDatagramsOut: 0,
    directBytesOut: 0,
    fanoutDropped: 0,
  };
}

function addPublisher(into: MediaTotals, publisher: Publisher): void {
  for (const track of publisher.tracks) {
    into.rtpPacketsIn += track.stats.packets;
    into.rtpBytesIn += track.stats.bytes;
  }
  into.keyframeRequests += publisher.counters.keyframeRequests;
}

function addViewer(into: MediaTotals, viewer: Viewer): void {
  for (const forwarder of viewer.forwarders) {
    // Read once: a native forwarder's counters come from the addon.
    const c = forwarder.counters;
    into.rtpPacketsOut += c.packets;
    into.rtpBytesOut += c.bytes;
    into.nackResends += c.resent;
    into.nackResendsRefused += c.resendsRefused;
    into.directDatagramsOut += c.directDatagrams;
    into.directBytesOut += c.directBytes;
    into.fanoutDropped += c.dropped;
  }
}

/**
 * Process-wide figures (CPU, memory, event-loop lag, GC) are the same for every
 * server in a process, and collecting them starts timers and observers that live
 * as long as the process: one registry for them, made once, shared by every server.
 */
let processRegistry: Registry | undefined;
function processMetrics(): Registry {
  if (processRegistry === undefined) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

export class ServerMetrics {
  /** This server's own metrics: tests run several servers in one process. */
  private readonly registry = new Registry();
  /** The final figures of publishers and viewers that have left. */
  private readonly departed = zeroTotals();
  /** Taken once per scrape, read by every counter that needs it. */
  private scraped = zeroTotals();

  constructor(
    engine: MediaEngine,
    private readonly sfu: Sfu,
    recording: Pick<RecordingService, 'recordingCount'>,
    /** Undefined without WEBHOOK_URL: its metrics then stay at 0. */
    webhooks: Pick<Webhooks, 'counters' | 'queued'> | undefined,
    thumbnails: Pick<ThumbnailService, 'runs'>,
  ) {
    sfu.rooms.on('created', (room) => this.follow(room));
    this.define(engine, sfu, recording);
    this.defineWebhooks(webhooks);
    readCounter(
      [this.registry],
      'onecast_thumbnail_runs_total',
      'ffmpeg runs that made (ok) or failed to make a room thumbnail, by result: not-found (FFMPEG_PATH), timeout, too-large, failed; answers from the cache are not runs',
      ['result'],
      () => Object.entries(thumbnails.runs).map(([result, n]) => [{ result }, n]),
    );
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The text exposition: this server's metrics, then the process's. */
  async exposition(): Promise<string> {
    this.scraped = this.totals();
    return (await this.registry.metrics()) + '\n' + (await processMetrics().metrics());
  }

  private follow(room: Room): void {
    room.on('publisherLeft', (publisher) => addPublisher(this.departed, publisher));
    room.on('viewerLeft', (viewer) => addViewer(this.departed, viewer));
  }

  /** Totals since start: those who left plus those still here. */
  private totals(): MediaTotals {
    const totals = { ...this.departed };
    for (const room of this.sfu.rooms.list()) {
      if (room.publisher !== undefined) addPublisher(totals, room.publisher);
      for (const viewer of room.viewers) addViewer(totals, viewer);
    }
    return totals;
  }

  private define(engine: MediaEngine, sfu: Sfu, recording: Pick<RecordingService, 'recordingCount'>): void {
    const mux = engine.mux.counters;
    const registers = [this.registry];
    const totals = () => this.scraped;
    new Gauge({
      name: 'onecast_sessions',
      help: 'WHIP (publish) and WHEP (play) sessions that exist now',
      labelNames: ['kind'],
      registers,
      collect() {
        const rooms = sfu.rooms.list();
        this.set({ kind: 'publish' }, rooms.filter((r) => r.publisher !== undefined).length);
        this.set(
          { kind: 'play' },
          rooms.reduce((n, r) => n + r.viewers.size, 0),
        );
      },
    });
    new Gauge({
      name: 'onecast_sessions_pending',
      help: 'sessions not connected yet (ICE and DTLS), as MAX_PENDING counts them',
      registers,
      collect() {
        this.set(sfu.admission.pendingCount);
      },
    });
    readCounter(
      registers,
      'onecast_sessions_closed_total',
      'sessions closed, by reason (CloseReason in src/engine/session.ts): ice-timeout is a session that never did ICE, dtls-timeout one whose handshake did not complete in time, dtls-failed includes sessions closed for DTLS input over its limits',
      ['reason'],
      () => [...engine.closedByReason].map(([reason, n]) => [{ reason }, n]),
    );
    new Gauge({
      name: 'onecast_rooms',
      help: 'rooms that have a publisher or viewers',
      registers,
      collect() {
        this.set(sfu.rooms.size);
      },
    });
    new Gauge({
      name: 'onecast_recordings_active',
      help: 'recordings being written now',
      registers,
      collect() {
        this.set(recording.recordingCount);
      },
    });
    readCounter(
      registers,
      'onecast_rtp_packets_total',
      'RTP packets received from publishers (in) and sent to viewers (out, retransmissions included)',
      ['direction'],
      () => [
        [{ direction: 'in' }, totals().rtpPacketsIn],
        [{ direction: 'out' }, totals().rtpPacketsOut],
      ],
    );
    readCounter(registers, 'onecast_rtp_bytes_total', 'bytes of those RTP packets, header and payload, before SRTP', ['direction'], () => [
      [{ direction: 'in' }, totals().rtpBytesIn],
      [{ direction: 'out' }, totals().rtpBytesOut],
    ]);
    readCounter(registers, 'onecast_nack_retransmissions_total', 'packets resent to viewers from the packet cache, answering their NACKs', [], () => [
      [{}, totals().nackResends],
    ]);
    readCounter(
      registers,
      'onecast_nack_retransmissions_refused_total',
      'NACKed packets not resent: over the per-viewer retransmission budget (a NACK flood)',
      [],
      () => [[{}, totals().nackResendsRefused]],
    );
    readCounter(registers, 'onecast_keyframe_requests_total', 'PLI or FIR sent to publishers (viewers joining or asking, at most one per 500 ms)', [], () => [
      [{}, totals().keyframeRequests],
    ]);
    readCounter(registers, 'onecast_srtp_auth_failures_total', 'SRTP and SRTCP packets that failed authentication (dropped)', [], () => [
      [{}, mux.dropped['srtp-auth-failed']],
    ]);
    readCounter(registers, 'onecast_datagrams_dropped_total', 'UDP datagrams dropped, by reason (DropReason in src/engine/udpMux.ts)', ['reason'], () =>
      (Object.keys(mux.dropped) as DropReason[]).map((reason) => [{ reason }, mux.dropped[reason]]),
    );
    readCounter(
      registers,
      'onecast_udp_datagrams_total',
      "datagrams through the one UDP port: STUN, DTLS, SRTP, SRTCP, and plain RTP to recordings' ffmpeg",
      ['direction'],
      () => [
        [{ direction: 'in' }, mux.datagramsIn],
        [{ direction: 'out' }, mux.datagramsOut + totals().directDatagramsOut],
      ],
    );
    readCounter(registers, 'onecast_udp_bytes_total', 'bytes of those datagrams', ['direction'], () => [
      [{ direction: 'in' }, mux.bytesIn],
      [{ direction: 'out' }, mux.bytesOut + totals().directBytesOut],
    ]);
    readCounter(
      registers,
      'onecast_fanout_dropped_total',
      "datagrams to viewers the native fan-out dropped: the socket's send buffer was full (never queued, never waited for) or the send failed",
      [],
      () => [[{}, totals().fanoutDropped]],
    );
  }

  private defineWebhooks(webhooks: Pick<Webhooks, 'counters' | 'queued'> | undefined): void {
    const registers = [this.registry];
    const results = ['ok', 'retry', 'failed', 'dropped'] as const;
    readCounter(
      registers,
      'onecast_webhook_deliveries_total',
      'webhook events delivered (ok), attempts that failed and will be retried (retry), events given up after their last attempt (failed), events never attempted to the end: a full queue or the shutdown deadline (dropped)',
      ['result'],
      () => results.map((result) => [{ result }, webhooks?.counters[result] ?? 0]),
    );
    new Gauge({
      name: 'onecast_webhook_queued',
      help: 'webhook events not yet delivered or given up: waiting, being sent, or waiting to be retried',
      registers,
      collect() {
        this.set(webhooks?.queued ?? 0);
      },
    });
  }
}

type Labels = Record<string, string>;

/** A Prometheus counter whose value is read, at scrape time, from a count kept elsewhere. */
function readCounter(registers: Registry[], name: string, help: string, labelNames: string[], read: () => Array<[Labels, number]>): void {
  new Counter({
    name,
    help,
    labelNames,
    registers,
    collect() {
      // prom-client counters only go up by inc(); the source is already a running total.
      this.reset();
      for (const [labels, value] of read()) this.inc(labels, value);
    },
  });
}
