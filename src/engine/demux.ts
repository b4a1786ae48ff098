// RFC 7983 §7: the first byte of a datagram tells which protocol it carries,
// which is what lets STUN, DTLS and SRTP/SRTCP share one UDP port.

export type PacketKind = 'stun' | 'dtls' | 'rtp' | 'rtcp' | 'unknown';

/** Classifies a datagram by its first byte (and, for RTP vs RTCP, its second). */
export function classify(packet: Uint8Array): PacketKind {
  if (packet.length === 0) return 'unknown';
  const b = packet[0]!;
  if (b <= 3) return 'stun';
  if (b >= 20 && b <= 63) return 'dtls';
  if (b >= 128 && b <= 191) {
    if (packet.length < 2) return 'unknown';
    // RFC 5761 §4: with rtcp-mux, RTCP packet types 192-223 fall where RTP would
    // have marker bit + payload type 64-95, which no dynamic RTP type uses.
    const pt = packet[1]!;
    return pt >= 192 && pt <= 223 ? 'rtcp' : 'rtp';
  }
  return 'unknown';
}
