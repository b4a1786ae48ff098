// VP8 RTP payloads (RFC 7741) back into a VP8 frame: each packet's payload descriptor
// taken off, the rest joined; and the picture size a keyframe's header gives.

/** The payload descriptor's length (RFC 7741 §4.2), or undefined if it overruns the payload. */
function descriptorLength(payload: Uint8Array): number | undefined {
  if (payload.length < 1) return undefined;
  let p = 1;
  if (payload[0]! & 0x80) {
    if (payload.length < 2) return undefined;
    const x = payload[1]!;
    p = 2;
    if (x & 0x80) {
      // PictureID: 7 bits, or 15 with its M bit.
      if (payload.length <= p) return undefined;
      p += payload[p]! & 0x80 ? 2 : 1;
    }
    if (x & 0x40) p += 1; // TL0PICIDX
    if (x & 0x30) p += 1; // TID / KEYIDX
  }
  return p <= payload.length ? p : undefined;
}

/**
 * One frame's payloads (in order, none missing) as the VP8 frame; undefined when the
 * first does not start partition 0 (S bit, PID 0), a later one does start a frame, or a
 * descriptor overruns its payload.
 */
export function vp8Frame(payloads: readonly Uint8Array[]): Buffer | undefined {
  const parts: Uint8Array[] = [];
  for (const [i, payload] of payloads.entries()) {
    const offset = descriptorLength(payload);
    if (offset === undefined) return undefined;
    const startsFrame = (payload[0]! & 0x10) !== 0 && (payload[0]! & 0x07) === 0;
    if (startsFrame !== (i === 0)) return undefined;
    parts.push(payload.subarray(offset));
  }
  const frame = Buffer.concat(parts);
  return frame.length >= 3 ? frame : undefined;
}

/** Whether a decoder shows the frame (its show_frame bit, RFC 6386 §9.1): an alt-ref frame is decoded only. */
export function vp8Shown(frame: Uint8Array): boolean {
  return (frame[0]! & 0x10) !== 0;
}

/** The picture size of a VP8 keyframe (RFC 6386 §9.1), or undefined for an interframe or a short one. */
export function vp8KeyframeSize(frame: Uint8Array): { width: number; height: number } | undefined {
  if (frame.length < 10 || (frame[0]! & 0x01) !== 0) return undefined;
  if (frame[3] !== 0x9d || frame[4] !== 0x01 || frame[5] !== 0x2a) return undefined;
  return { width: (frame[6]! | (frame[7]! << 8)) & 0x3fff, height: (frame[8]! | (frame[9]! << 8)) & 0x3fff };
}
