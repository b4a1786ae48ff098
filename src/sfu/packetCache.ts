// What a publisher track remembers of its recent packets: the last ~1000 by
// sequence number (to answer viewers' NACKs without bothering the publisher), and
// every packet since the last keyframe started (so a joining viewer gets a picture
// at once instead of waiting up to a keyframe interval).
import type { RtpView } from '../rtp/rtpPacket';

export interface CachedPacket {
  packet: Buffer;
  view: RtpView;
}

/** A power of two: the ring index is seq & (size - 1). About 1 s of 8 Mbit/s video. */
const NACK_CACHE_SIZE = 1024;

/**
 * The largest group of pictures worth caching: at 6 Mbit/s with a 4 s keyframe
 * interval a GOP is ~2500 packets. Past this the cache is dropped, and joining
 * viewers wait for the next keyframe (or ask the publisher for one).
 */
const MAX_GOP_PACKETS = 4096;

export class PacketCache {
  private readonly ring: Array<CachedPacket | undefined> = new Array(NACK_CACHE_SIZE);
  private gop: CachedPacket[] = [];
  private gopValid = false;

  /** Remembers a packet; `keyframeStart` begins a new group of pictures. */
  put(packet: Buffer, view: RtpView, keyframeStart: boolean): void {
    const entry = { packet, view };
    this.ring[view.sequenceNumber & (NACK_CACHE_SIZE - 1)] = entry;
    if (keyframeStart) {
      this.gop = [entry];
      this.gopValid = true;
    } else if (this.gopValid) {
      if (this.gop.length >= MAX_GOP_PACKETS) {
        this.gop = [];
        this.gopValid = false;
      } else {
        this.addToGroup(entry);
      }
    }
  }

  /**
   * Keeps the group in sequence order: a retransmitted packet (say the SPS/PPS of
   * the keyframe, lost and NACKed) goes where it belongs, not at the end, or a
   * joining viewer would get the IDR before the parameter sets it needs.
   */
  private addToGroup(entry: CachedPacket): void {
    const gop = this.gop;
    const seq = entry.view.sequenceNumber;
    let i = gop.length;
    while (i > 0 && ((seq - gop[i - 1]!.view.sequenceNumber) & 0xffff) >= 0x8000) i--;
    if (i > 0 && gop[i - 1]!.view.sequenceNumber === seq) return; // a duplicate
    // Before the group's first packet: part of this keyframe only if it shares its timestamp.
    if (i === 0 && entry.view.timestamp !== gop[0]!.view.timestamp) return;
    gop.splice(i, 0, entry);
  }

  /** The packet with this sequence number, if it is still in the ring. */
  get(sequenceNumber: number): CachedPacket | undefined {
    const entry = this.ring[sequenceNumber & (NACK_CACHE_SIZE - 1)];
    return entry !== undefined && entry.view.sequenceNumber === sequenceNumber ? entry : undefined;
  }

  /** Forgets every packet. */
  clear(): void {
    this.ring.fill(undefined);
    this.gop = [];
    this.gopValid = false;
  }

  /** The packets since the last keyframe started, oldest first; empty if there is none. */
  keyframeGroup(): readonly CachedPacket[] {
    return this.gopValid ? this.gop : [];
  }
}
