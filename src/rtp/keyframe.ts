// Whether an RTP packet carries the start of a keyframe, per codec payload format.
// The SFU counts keyframes with it today, and caches and waits for them tomorrow.

/** H.264 (RFC 6184): an IDR slice or an SPS, alone, in a STAP-A, or starting an FU-A. */
export function h264StartsKeyframe(payload: Uint8Array): boolean {
  if (payload.length < 1) return false;
  const type = payload[0]! & 0x1f;
  if (type === 5 || type === 7) return true;
  if (type === 24) {
    // STAP-A: [size:16][NAL]...
    let p = 1;
    while (p + 2 < payload.length) {
      const size = (payload[p]! << 8) | payload[p + 1]!;
      const nal = payload[p + 2]! & 0x1f;
      if (nal === 5 || nal === 7) return true;
      p += 2 + size;
    }
    return false;
  }
  if (type === 28 && payload.length >= 2) {
    // FU-A: the start bit marks the first fragment.
    const start = (payload[1]! & 0x80) !== 0;
    const nal = payload[1]! & 0x1f;
    return start && nal === 5;
  }
  return false;
}

/** VP8 (RFC 7741): the first packet of a frame whose P bit is 0. */
export function vp8StartsKeyframe(payload: Uint8Array): boolean {
  if (payload.length < 1) return false;
  const b0 = payload[0]!;
  const start = (b0 & 0x10) !== 0;
  const partition = b0 & 0x07;
  if (!start || partition !== 0) return false;
  let p = 1;
  if (b0 & 0x80) {
    // X: extension byte, then optional PictureID (1-2 bytes), TL0PICIDX, TID/KEYIDX.
    if (payload.length < 2) return false;
    const x = payload[1]!;
    p = 2;
    if (x & 0x80) p += payload.length > p && payload[p]! & 0x80 ? 2 : 1;
    if (x & 0x40) p += 1;
    if (x & 0x30) p += 1;
  }
  if (p >= payload.length) return false;
  return (payload[p]! & 0x01) === 0;
}

export function startsKeyframe(codec: string, payload: Uint8Array): boolean {
  switch (codec) {
    case 'H264':
      return h264StartsKeyframe(payload);
    case 'VP8':
      return vp8StartsKeyframe(payload);
    default:
      return false;
  }
}
