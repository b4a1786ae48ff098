// Just enough of an RTP header (RFC 3550 §5.1, RFC 8285) to route and count packets
// without copying them: offsets into the original buffer.

export interface RtpView {
  payloadType: number;
  marker: boolean;
  sequenceNumber: number;
  timestamp: number;
  ssrc: number;
  /** Offset of the header-extension block's profile word, or -1 if there is none. */
  extensionOffset: number;
  payloadOffset: number;
  /** Bytes of payload, padding excluded. */
  payloadLength: number;
}

/** Reads an RTP header; undefined if the packet is too short or inconsistent. */
export function readRtp(packet: Uint8Array): RtpView | undefined {
  if (packet.length < 12 || packet[0]! >> 6 !== 2) return undefined;
  const b0 = packet[0]!;
  const csrcCount = b0 & 0x0f;
  let offset = 12 + csrcCount * 4;
  let extensionOffset = -1;
  if (b0 & 0x10) {
    if (offset + 4 > packet.length) return undefined;
    extensionOffset = offset;
    const words = (packet[offset + 2]! << 8) | packet[offset + 3]!;
    offset += 4 + words * 4;
  }
  let end = packet.length;
  if (b0 & 0x20) {
    const pad = packet[packet.length - 1]!;
    if (pad === 0) return undefined;
    end -= pad;
  }
  if (offset > end) return undefined;
  return {
    payloadType: packet[1]! & 0x7f,
    marker: (packet[1]! & 0x80) !== 0,
    sequenceNumber: (packet[2]! << 8) | packet[3]!,
    timestamp: ((packet[4]! << 24) | (packet[5]! << 16) | (packet[6]! << 8) | packet[7]!) >>> 0,
    ssrc: ((packet[8]! << 24) | (packet[9]! << 16) | (packet[10]! << 8) | packet[11]!) >>> 0,
    extensionOffset,
    payloadOffset: offset,
    payloadLength: end - offset,
  };
}

/**
 * The value of header extension `id` (RFC 8285 one-byte or two-byte form), or
 * undefined when the packet does not carry it.
 */
export function readHeaderExtension(packet: Uint8Array, view: RtpView, id: number): Uint8Array | undefined {
  if (view.extensionOffset < 0) return undefined;
  const o = view.extensionOffset;
  const profile = (packet[o]! << 8) | packet[o + 1]!;
  const end = view.payloadOffset;
  let p = o + 4;
  if (profile === 0xbede) {
    while (p < end) {
      const b = packet[p]!;
      if (b === 0) {
        p++; // padding
        continue;
      }
      const extId = b >> 4;
      if (extId === 15) return undefined;
      const len = (b & 0x0f) + 1;
      if (p + 1 + len > end) return undefined;
      if (extId === id) return packet.subarray(p + 1, p + 1 + len);
      p += 1 + len;
    }
  } else if ((profile & 0xfff0) === 0x1000) {
    while (p + 1 < end) {
      const extId = packet[p]!;
      if (extId === 0) {
        p++;
        continue;
      }
      const len = packet[p + 1]!;
      if (p + 2 + len > end) return undefined;
      if (extId === id) return packet.subarray(p + 2, p + 2 + len);
      p += 2 + len;
    }
  }
  return undefined;
}
