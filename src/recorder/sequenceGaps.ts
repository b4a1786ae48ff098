// Renumbers one RTP source so that the packets the recorder leaves out (Chromium's
// padding-only bandwidth probes on the media SSRC) leave no hole in the sequence numbers
// ffmpeg sees. ffmpeg's RTP demuxer takes every hole for a lost packet and holds all that
// follows in its reorder queue for up to -max_delay (500 ms) waiting for it: media that
// reaches the muxer late, and that is lost if the input ends meanwhile. Pure.

/** Dropped numbers further back than this are folded into a count (a packet that late is useless to ffmpeg anyway). */
const WINDOW = 2048;

export class SequenceGaps {
  /** Highest extended (never wrapping) sequence number seen. */
  private highest: number | undefined;
  /** Extended numbers of the packets left out, ascending, within WINDOW of `highest`. */
  private skipped: number[] = [];
  /** Packets left out before the window. */
  private skippedBefore = 0;

  /** A packet that will not be passed on. */
  skip(sequenceNumber: number): void {
    const e = this.extend(sequenceNumber);
    let i = this.skipped.length;
    while (i > 0 && this.skipped[i - 1]! > e) i--;
    if (this.skipped[i - 1] !== e) this.skipped.splice(i, 0, e);
    this.prune();
  }

  /** The number a packet that is passed on gets: its own, less the packets left out before it. */
  renumber(sequenceNumber: number): number {
    const e = this.extend(sequenceNumber);
    let before = this.skippedBefore;
    for (const s of this.skipped) {
      if (s >= e) break;
      before++;
    }
    this.prune();
    return (sequenceNumber - before) & 0xffff;
  }

  private extend(sequenceNumber: number): number {
    if (this.highest === undefined) {
      this.highest = sequenceNumber + 0x10000; // room below for packets that arrive late
      return this.highest;
    }
    const delta = ((sequenceNumber - this.highest + 0x8000) & 0xffff) - 0x8000;
    const e = this.highest + delta;
    if (e > this.highest) this.highest = e;
    return e;
  }

  private prune(): void {
    const floor = this.highest! - WINDOW;
    let n = 0;
    while (n < this.skipped.length && this.skipped[n]! < floor) n++;
    if (n > 0) {
      this.skipped.splice(0, n);
      this.skippedBefore += n;
    }
  }
}
