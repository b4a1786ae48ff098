// The per-packet cost of the fan-out's hot path, before and after onecast wrote its
// own outbound SRTP: header rewrite + encryption of one 1100-byte payload, measured
// as CPU time per packet, the variants interleaved in one process so that machine
// load affects them alike. Reported as medians over rounds, and as a ratio.
import { randomBytes } from 'node:crypto';
import { RtpHeader, RtpPacket, SrtpSession } from 'werift';
import { PROFILE_AEAD_AES_128_GCM, PROFILE_AES_CM_128_HMAC_SHA1_80, SrtpSender } from '../src/engine/srtp/srtpSender';
import { MAX_HEADER, RtpRewriter } from '../src/rtp/rewriter';
import { readRtp } from '../src/rtp/rtpPacket';
import { percentile } from '../test/load/measure';

const PACKETS = 20_000;
const ROUNDS = 7;

export function hotPath(): string[] {
  const source = new RtpPacket(new RtpHeader({ payloadType: 96, sequenceNumber: 1, timestamp: 1, ssrc: 5, marker: true }), randomBytes(1100)).serialize();
  const view = readRtp(source)!;
  const payload = source.subarray(view.payloadOffset);
  const lines: string[] = [];
  for (const [name, profile, saltLength] of [
    ['AEAD_AES_128_GCM', PROFILE_AEAD_AES_128_GCM, 12],
    ['AES_CM_128_HMAC_SHA1_80', PROFILE_AES_CM_128_HMAC_SHA1_80, 14],
  ] as const) {
    const key = randomBytes(16);
    const salt = randomBytes(saltLength);
    const werift = new SrtpSession({ profile, keys: { localMasterKey: key, localMasterSalt: salt, remoteMasterKey: key, remoteMasterSalt: salt } });
    const sender = new SrtpSender(profile, key, salt);
    const rewriter = new RtpRewriter({ ssrc: 9, payloadType: 102, clockRate: 90000, mid: '1' });
    const header = Buffer.alloc(MAX_HEADER);
    const variants = {
      // Before: a whole rewritten packet, which werift parses and re-serialises to encrypt.
      before: () => {
        const length = rewriter.writeHeader(view, 0, header);
        const packet = Buffer.concat([header.subarray(0, length), payload]);
        const parsed = RtpHeader.deSerialize(packet);
        return werift.encrypt(packet.subarray(parsed.payloadOffset), parsed);
      },
      // After: the rewritten header and the publisher's payload straight into SRTP.
      after: () => sender.protectParts(header, rewriter.writeHeader(view, 0, header), payload),
    };
    const results: Record<string, number[]> = { before: [], after: [] };
    for (let round = 0; round < ROUNDS; round++) {
      for (const [variant, fn] of Object.entries(variants)) {
        for (let i = 0; i < 1_000; i++) fn();
        const start = process.cpuUsage();
        for (let i = 0; i < PACKETS; i++) fn();
        const used = process.cpuUsage(start);
        results[variant]!.push((used.user + used.system) / PACKETS);
      }
    }
    const before = percentile(
      results['before']!.sort((a, b) => a - b),
      50,
    );
    const after = percentile(
      results['after']!.sort((a, b) => a - b),
      50,
    );
    lines.push(`${name.padEnd(24)} before ${before.toFixed(2)} µs/packet, after ${after.toFixed(2)} µs/packet: ${(before / after).toFixed(2)}× less CPU`);
  }
  return lines;
}
