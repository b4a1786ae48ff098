// One track of the OBS-like publisher sent in real time, as OBS's WHIPOutput::Send() does:
// one frame per period on an absolute schedule, the RTP timestamp advanced by the periods
// elapsed, frames dropped while the track is not open.
import { performance } from 'node:perf_hooks';
import type { RtpPacketizationConfig, Track } from 'node-datachannel';

/** Sends one track's frames in real time, one frame per period, looping the clip. */
export class FramePacer {
  private timer: NodeJS.Timeout | undefined;
  private startedAt = 0;
  private sentIndex = 0; // frame periods handled since start (not wrapped)
  private lastStampedIndex = -1; // the period whose timestamp config.timestamp holds
  private state: 'idle' | 'running' | 'stopped' = 'idle';
  sent = 0;
  keyframes = 0;
  private readonly tsIncrement: number;

  constructor(
    private readonly track: Track,
    private readonly config: RtpPacketizationConfig,
    private readonly frames: Buffer[],
    private readonly frameSeconds: number,
    private readonly keyframe: boolean[] | undefined,
  ) {
    // OBS: rtp_config->secondsToTimestamp(elapsed_seconds), truncated to uint32
    this.tsIncrement = Math.trunc(frameSeconds * config.clockRate);
  }

  start(): void {
    if (this.state !== 'idle' || this.frames.length === 0) return;
    this.state = 'running';
    this.startedAt = performance.now();
    this.sentIndex = 0;
    this.lastStampedIndex = -1;
    this.tick();
  }

  stop(): void {
    this.state = 'stopped';
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private tick = (): void => {
    this.timer = undefined;
    if (this.state !== 'running') return;
    const periodMs = this.frameSeconds * 1000;
    const due = Math.floor((performance.now() - this.startedAt) / periodMs) + 1; // frames due by now
    if (due - this.sentIndex > Math.ceil(1000 / periodMs)) {
      // more than a second behind (event loop stalled): skip ahead rather than burst
      this.sentIndex = due - 1;
    }
    while (this.sentIndex < due && this.state === 'running') {
      this.sendOne(this.sentIndex);
      this.sentIndex++;
    }
    if (this.state !== 'running') return;
    const nextAt = this.startedAt + this.sentIndex * periodMs;
    this.timer = setTimeout(this.tick, Math.max(0, nextAt - performance.now()));
  };

  /** Sends the frame of period n (the clip loops); n counts from 0 at start(). */
  private sendOne(n: number): void {
    const index = n % this.frames.length;
    let open: boolean;
    try {
      open = this.track.isOpen();
    } catch {
      // the native track is gone (cleanupDataChannel() ran): nothing more to send
      this.stop();
      return;
    }
    // WHIPOutput::Send(): drop the frame while the track is not open
    if (!open) return;
    // advance the RTP timestamp by the time since the previous frame (one frame duration,
    // unless frames were skipped) before sending
    const periods = n - this.lastStampedIndex;
    this.lastStampedIndex = n;
    this.config.timestamp = (this.config.timestamp + periods * this.tsIncrement) >>> 0;
    try {
      this.track.sendMessageBinary(this.frames[index]!);
      this.sent++;
      if (this.keyframe?.[index]) this.keyframes++;
    } catch {
      // OBS logs "error: ..." and carries on
    }
  }
}
