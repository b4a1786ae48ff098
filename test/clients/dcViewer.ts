// A WHEP viewer on libdatachannel (the stack of OBS's WHEP source and of many
// native players): recvonly H.264 + Opus, keeping every RTP packet it receives.
import { performance } from 'node:perf_hooks';
import { Audio, PeerConnection, Video, type Track } from 'node-datachannel';
import type { MediaKind } from '../../src/rtp/mediaKind';
import { retainUntilCleanup } from './obsPublisher';

export class DataChannelViewer {
  /** `at`: Date.now() on arrival; `precise`: performance.now() (for delays below a millisecond). */
  readonly packets: { kind: MediaKind; packet: Buffer; at: number; precise: number }[] = [];
  private constructor(
    private readonly pc: PeerConnection,
    readonly resourceUrl: string,
    readonly answer: string,
    /** The 201's headers (Link, ETag, ...). */
    readonly headers: Headers,
    private readonly auth: Record<string, string>,
  ) {}

  /** `token`: sent as the Bearer token of the POST and the DELETE. */
  static async start(endpoint: string, token?: string): Promise<DataChannelViewer> {
    const pc = retainUntilCleanup(new PeerConnection('whep-viewer', { iceServers: [] }));
    const audio = new Audio('0', 'RecvOnly');
    audio.addOpusCodec(111);
    const video = new Video('1', 'RecvOnly');
    video.addH264Codec(96);
    const tracks: [Track, MediaKind][] = [
      [retainUntilCleanup(pc.addTrack(audio)), 'audio'],
      [retainUntilCleanup(pc.addTrack(video)), 'video'],
    ];
    pc.setLocalDescription();
    const offer = pc.localDescription()!.sdp;
    const auth: Record<string, string> = token === undefined ? {} : { Authorization: `Bearer ${token}` };
    const res = await fetch(endpoint, { method: 'POST', headers: { 'Content-Type': 'application/sdp', ...auth }, body: offer });
    const body = await res.text();
    if (res.status !== 201) throw new Error(`WHEP POST answered ${res.status}: ${body}`);
    const viewer = new DataChannelViewer(pc, new URL(res.headers.get('location')!, endpoint).toString(), body, res.headers, auth);
    for (const [track, kind] of tracks) {
      track.onMessage((msg) => viewer.packets.push({ kind, packet: Buffer.from(msg), at: Date.now(), precise: performance.now() }));
    }
    pc.setRemoteDescription(body, 'answer');
    return viewer;
  }

  video(): Buffer[] {
    return this.packets.filter((p) => p.kind === 'video').map((p) => p.packet);
  }

  async stop(): Promise<number> {
    this.pc.close();
    const res = await fetch(this.resourceUrl, { method: 'DELETE', headers: this.auth });
    return res.status;
  }
}
