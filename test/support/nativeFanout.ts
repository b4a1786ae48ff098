// For the native fan-out's tests: the addon (failing the test with what to do when it is
// not built), RTP packets built byte by byte (CSRCs, extension blocks, padding), and the
// JavaScript reference a native output must match byte for byte: a real Forwarder whose
// session encrypts with a real SrtpSender.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { Session } from '../../src/engine/session';
import { loadFanoutAddon, type FanoutAddon, type FanoutOutputOptions } from '../../src/engine/native/fanoutAddon';
import { PROFILE_AEAD_AES_128_GCM, PROFILE_AES_CM_128_HMAC_SHA1_80, SrtpSender } from '../../src/engine/srtp/srtpSender';
import { readRtp } from '../../src/rtp/rtpPacket';
import { EXTENSION_URI, type PlayMedia } from '../../src/sdp/types';
import { JsForwarder } from '../../src/sfu/jsFanout';

/** FANOUT_ADDON_FILE names another build of the addon (the sanitizer test's). */
const loaded = loadFanoutAddon(process.env.FANOUT_ADDON_FILE);

/** The addon; a test that needs it fails (not skips) when it is not built: CI builds it. */
export function nativeFanout(): FanoutAddon {
  if ('reason' in loaded) assert.fail(`the native fan-out is not available: ${loaded.reason}. Build it with: npm run build:native`);
  return loaded.addon;
}

export const PROFILES = [
  { name: 'AES_CM_128_HMAC_SHA1_80', profile: PROFILE_AES_CM_128_HMAC_SHA1_80, saltLength: 14 },
  { name: 'AEAD_AES_128_GCM', profile: PROFILE_AEAD_AES_128_GCM, saltLength: 12 },
] as const;

export interface SrtpKeys {
  profile: number;
  key: Buffer;
  salt: Buffer;
}

export function randomKeys(profile: number, saltLength: number): SrtpKeys {
  return { profile, key: randomBytes(16), salt: randomBytes(saltLength) };
}

/** Viewer tracks: video with the mid at id 1, audio with a 16-byte mid at id 14, video without the mid. */
export const TRACKS: FanoutOutputOptions[] = [
  { ssrc: 0x11223344, payloadType: 102, clockRate: 90000, mid: '0', midExtensionId: 1, video: true },
  { ssrc: 0xfedcba98, payloadType: 111, clockRate: 48000, mid: 'audio-track-0001', midExtensionId: 14, video: false },
  { ssrc: 7, payloadType: 96, clockRate: 90000, mid: '1', video: true },
];

export interface RtpFields {
  seq: number;
  ts: number;
  ssrc: number;
  marker?: boolean;
  payloadType?: number;
  csrcs?: number;
  /** Bytes of the extension block after its 4-byte profile word (a multiple of 4). */
  extension?: Buffer;
  payload: Buffer;
  /** Padding bytes at the end (the last one says how many). */
  padding?: number;
}

/** An RTP packet (RFC 3550 §5.1) as a publisher's would arrive, decrypted. */
export function rtpPacket(f: RtpFields): Buffer {
  const csrcs = f.csrcs ?? 0;
  const ext = f.extension;
  const padding = f.padding ?? 0;
  const header = Buffer.alloc(12 + csrcs * 4 + (ext !== undefined ? 4 + ext.length : 0));
  header[0] = 0x80 | (padding > 0 ? 0x20 : 0) | (ext !== undefined ? 0x10 : 0) | csrcs;
  header[1] = (f.marker === true ? 0x80 : 0) | (f.payloadType ?? 96);
  header.writeUInt16BE(f.seq & 0xffff, 2);
  header.writeUInt32BE(f.ts >>> 0, 4);
  header.writeUInt32BE(f.ssrc >>> 0, 8);
  for (let i = 0; i < csrcs; i++) header.writeUInt32BE(0xc0000000 + i, 12 + i * 4);
  if (ext !== undefined) {
    const at = 12 + csrcs * 4;
    header.writeUInt16BE(0xbede, at);
    header.writeUInt16BE(ext.length / 4, at + 2);
    ext.copy(header, at + 4);
  }
  const pad = Buffer.alloc(padding);
  if (padding > 0) pad[padding - 1] = padding;
  return Buffer.concat([header, f.payload, pad]);
}

/** The JavaScript path for one viewer track: a Forwarder whose session encrypts with SrtpSender and collects the datagrams. */
export function jsViewer(track: FanoutOutputOptions, keys: SrtpKeys) {
  const sender = new SrtpSender(keys.profile, keys.key, keys.salt);
  const sent: Buffer[] = [];
  const session = {
    sendRtpParts: (header: Buffer, length: number, payload: Uint8Array) => {
      sent.push(sender.protectParts(header, length, payload));
      return true;
    },
  };
  const media = {
    kind: track.video ? 'video' : 'audio',
    mid: track.mid,
    codec: { name: track.video ? 'H264' : 'opus', payloadType: track.payloadType, clockRate: track.clockRate },
    extensions: track.midExtensionId !== undefined ? [{ uri: EXTENSION_URI.mid, id: track.midExtensionId }] : [],
  };
  const forwarder = new JsForwarder(session as unknown as Session, media as unknown as PlayMedia, track.ssrc);
  return {
    forwarder,
    sent,
    /** Forwarder.forward with the packet parsed as the room does. */
    forward: (packet: Buffer, keyframe: boolean, now: number) => forwarder.forward(packet, readRtp(packet)!, keyframe, now),
  };
}

export interface Step {
  packet: Buffer;
  keyframe: boolean;
  now: number;
}

/** An extension block of one-byte elements (ids 1-14, values 1-16 bytes), padded to words. */
function extensionBlock(random: () => number): Buffer {
  const bytes: number[] = [];
  const count = 1 + Math.floor(random() * 3);
  for (let i = 0; i < count; i++) {
    const length = 1 + Math.floor(random() * 16);
    bytes.push(((1 + Math.floor(random() * 14)) << 4) | (length - 1));
    for (let j = 0; j < length; j++) bytes.push(Math.floor(random() * 256));
  }
  while (bytes.length % 4 !== 0) bytes.push(0);
  return Buffer.from(bytes);
}

/**
 * A publisher's stream with everything the rewrite and SRTP must get right: CSRCs, extension
 * blocks, padding, markers; a sequence wrap 65535 → 0 (the rollover counter); a resend from
 * before the wrap; a new publisher (SSRC) 1 234.56 ms later that starts without a keyframe;
 * a resend of the new one's; then the first publisher back.
 */
export function scenario(random: () => number): Step[] {
  const steps: Step[] = [];
  let now = 1_000_000.25;
  const packet = (seq: number, ts: number, ssrc: number): Buffer =>
    rtpPacket({
      seq,
      ts,
      ssrc,
      marker: random() < 0.2,
      csrcs: random() < 0.2 ? 1 + Math.floor(random() * 3) : 0,
      ...(random() < 0.3 ? { extension: extensionBlock(random) } : {}),
      padding: random() < 0.2 ? 1 + Math.floor(random() * 32) : 0,
      payload: randomBytes(random() < 0.1 ? Math.floor(random() * 40) : 1100 + Math.floor(random() * 100)),
    });
  const run = (ssrc: number, firstSeq: number, firstTs: number, count: number, keyframeAt: number): Buffer[] => {
    const sent: Buffer[] = [];
    for (let i = 0; i < count; i++) {
      const p = packet((firstSeq + i) & 0xffff, firstTs + i * 3000, ssrc);
      sent.push(p);
      steps.push({ packet: p, keyframe: i === keyframeAt, now });
      now += 33;
    }
    return sent;
  };
  const a = run(0xaaaa0001, 65520, 4_294_000_000, 40, 0);
  steps.push({ packet: a[5]!, keyframe: false, now }); // seq 65525, from before the wrap
  now += 1234.56;
  const b = run(0xbbbb0002, 1000, 5_000_000, 20, 3);
  steps.push({ packet: b[10]!, keyframe: false, now });
  now += 500.5;
  run(0xaaaa0001, 24, 4_294_000_000 + 50 * 3000, 10, 2);
  return steps;
}
