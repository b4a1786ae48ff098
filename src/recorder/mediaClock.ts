// A Sender Report ties a stream's RTP timestamps to the sender's wall clock (NTP, 32.32
// fixed point, RFC 3550 §6.4.1): any instant on that line can be named by either. The
// recorder uses it to give ffmpeg one instant, the same for every stream, in the SRs it
// sends before any media (see Recorder). Pure.

export interface MediaClock {
  ntpTime: bigint;
  rtpTimestamp: number;
  clockRate: number;
}

/** The wall-clock (NTP) time of RTP timestamp `ts`, taken within ±2^31 ticks of the report's. */
export function ntpAt(clock: MediaClock, ts: number): bigint {
  const ticks = (ts - clock.rtpTimestamp) | 0;
  return clock.ntpTime + (BigInt(ticks) << 32n) / BigInt(clock.clockRate);
}

/** The RTP timestamp the stream has at wall-clock (NTP) time `ntp` (to the nearest tick). */
export function rtpAt(clock: MediaClock, ntp: bigint): number {
  const ticks = ((ntp - clock.ntpTime) * BigInt(clock.clockRate) + (1n << 31n)) >> 32n;
  return (clock.rtpTimestamp + Number(ticks)) >>> 0;
}

/** `seconds` in NTP 32.32 units. */
export function ntpSeconds(seconds: number): bigint {
  return BigInt(Math.round(seconds * 2 ** 32));
}
