// H.264 RTP payloads (RFC 6184, packetization modes 0 and 1) back into an Annex B access
// unit: single NAL units, STAP-A aggregates and FU-A fragments, each NAL unit after a
// 4-byte start code, as a raw .h264 stream holds them.

const START_CODE = Buffer.from([0, 0, 0, 1]);
const STAP_A = 24;
const FU_A = 28;

/**
 * One access unit's payloads (in order, none missing) as Annex B; undefined for a
 * payload it cannot read: an FU-A whose fragments do not run from start to end, a
 * STAP-A whose sizes overrun it, or a type of mode 2 (STAP-B, MTAP, FU-B).
 */
export function h264AccessUnit(payloads: readonly Uint8Array[]): Buffer | undefined {
  const parts: Uint8Array[] = [];
  /** The fragments of the NAL unit an FU-A is carrying, its header first. */
  let fragments: Uint8Array[] | undefined;
  for (const payload of payloads) {
    if (payload.length < 1) return undefined;
    const type = payload[0]! & 0x1f;
    if (type === FU_A) {
      if (payload.length < 2) return undefined;
      const start = (payload[1]! & 0x80) !== 0;
      const end = (payload[1]! & 0x40) !== 0;
      if (start === (fragments !== undefined)) return undefined; // a start inside a NAL unit, or a middle without one
      if (start) fragments = [Uint8Array.of((payload[0]! & 0xe0) | (payload[1]! & 0x1f))];
      fragments!.push(payload.subarray(2));
      if (end) {
        parts.push(START_CODE, ...fragments!);
        fragments = undefined;
      }
      continue;
    }
    if (fragments !== undefined) return undefined; // the FU-A did not end
    if (type >= 1 && type <= 23) {
      parts.push(START_CODE, payload);
    } else if (type === STAP_A) {
      let p = 1;
      while (p < payload.length) {
        if (p + 2 > payload.length) return undefined;
        const size = (payload[p]! << 8) | payload[p + 1]!;
        if (size === 0 || p + 2 + size > payload.length) return undefined;
        parts.push(START_CODE, payload.subarray(p + 2, p + 2 + size));
        p += 2 + size;
      }
    } else {
      return undefined;
    }
  }
  if (fragments !== undefined || parts.length === 0) return undefined;
  return Buffer.concat(parts);
}
