// The native fan-out against the JavaScript path it replaces: for the same packets the same
// datagrams, byte for byte (both SRTP profiles, a sequence wrap, a resend from before it, a
// new publisher, the mid extension), the same keyframe gate, and no crash on any input.
import assert from 'node:assert/strict';
import v8 from 'node:v8';
import vm from 'node:vm';
import { SrtpSession } from 'werift';
import { FORWARD_KEYFRAME_NEEDED, FORWARD_MALFORMED, type FanoutOutputOptions } from '../../src/engine/native/fanoutAddon';
import { SrtpSender } from '../../src/engine/srtp/srtpSender';
import { MAX_HEADER, RtpRewriter } from '../../src/rtp/rewriter';
import { readRtp } from '../../src/rtp/rtpPacket';
import { jsViewer, nativeFanout, PROFILES, randomKeys, rtpPacket, scenario, TRACKS, type SrtpKeys } from '../support/nativeFanout';
import { DatagramFuzzer } from '../support/fuzz';
import { prng } from '../support/random';

/** RtpRewriter + SrtpSender: what protect() must equal. */
function jsProtector(track: FanoutOutputOptions, keys: SrtpKeys) {
  const rewriter = new RtpRewriter({
    ssrc: track.ssrc,
    payloadType: track.payloadType,
    clockRate: track.clockRate,
    mid: track.mid,
    ...(track.midExtensionId !== undefined ? { midExtensionId: track.midExtensionId } : {}),
  });
  const sender = new SrtpSender(keys.profile, keys.key, keys.salt);
  const header = Buffer.alloc(MAX_HEADER);
  return {
    rewriter,
    protect(packet: Buffer, now: number): Buffer | undefined {
      const view = readRtp(packet);
      if (view === undefined) return undefined;
      const length = rewriter.writeHeader(view, now, header);
      return sender.protectParts(header, length, packet.subarray(view.payloadOffset, view.payloadOffset + view.payloadLength));
    },
  };
}

function nativeOutput(track: FanoutOutputOptions, keys?: SrtpKeys) {
  const addon = nativeFanout();
  const output = addon.createOutput(track);
  if (keys !== undefined) addon.setKeys(output, keys.profile, keys.key, keys.salt);
  return output;
}

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

/** Full collections, and the turns of the event loop in which Node runs the addon's finalizers. */
async function collectGarbage(): Promise<void> {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/**
 * A copy in memory of its own, exactly as long as the packet: small Buffers share an 8 KiB
 * pool, where a read past one packet's end lands in the next and no sanitizer could see it.
 */
function exactly(packet: Buffer): Buffer {
  const copy = Buffer.from(new ArrayBuffer(packet.length));
  packet.copy(copy);
  return copy;
}

describe('native fan-out (byte identity with the JavaScript path)', () => {
  for (const { name, profile, saltLength } of PROFILES) {
    it(`${name}: protect() gives SrtpSender's datagrams across a wrap, a resend, a new publisher and back, for every mid form`, () => {
      const addon = nativeFanout();
      const steps = scenario(prng(11));
      for (const track of TRACKS) {
        const keys = randomKeys(profile, saltLength);
        const output = nativeOutput(track, keys);
        const js = jsProtector(track, keys);
        steps.forEach((step, i) => {
          const expected = js.protect(step.packet, step.now)!;
          const actual = addon.protect(output, step.packet, step.now);
          assert.ok(actual !== undefined && actual.equals(expected), `${track.mid}: step ${i} (seq ${step.packet.readUInt16BE(2)}) differs`);
        });
        const state = addon.outputState(output);
        assert.equal(state.packetsSent, js.rewriter.packetsSent);
        assert.equal(state.octetsSent, js.rewriter.octetsSent);
        assert.equal(state.sourceSsrc, js.rewriter.sourceSsrc());
        assert.equal(state.timestampOffset, js.rewriter.timestampOffset);
        for (let seq = 0; seq < 65536; seq += 97) assert.equal(addon.toSourceSeq(output, seq), js.rewriter.toSourceSeq(seq), `toSourceSeq(${seq})`);
      }
    });

    it(`${name}: werift decrypts what protect() gives into the rewritten packet`, () => {
      const addon = nativeFanout();
      const keys = randomKeys(profile, saltLength);
      const track = TRACKS[0]!;
      const output = nativeOutput(track, keys);
      const receiver = new SrtpSession({
        profile,
        keys: { localMasterKey: keys.key, localMasterSalt: keys.salt, remoteMasterKey: keys.key, remoteMasterSalt: keys.salt },
      });
      const payload = Buffer.from('a keyframe, or so it says');
      const packet = rtpPacket({ seq: 65535, ts: 90000, ssrc: 5, csrcs: 2, padding: 3, extension: Buffer.from([0x10, 9, 0, 0]), payload });
      const plain = receiver.decrypt(addon.protect(output, packet, 0)!);
      const view = readRtp(plain)!;
      assert.equal(view.ssrc, track.ssrc);
      assert.equal(view.payloadType, track.payloadType);
      assert.equal(view.sequenceNumber, 65535);
      assert.deepEqual(plain.subarray(view.payloadOffset), payload, 'the payload, padding and CSRCs dropped');
      // The mid extension (id 1, "0") is the only one the viewer gets.
      assert.deepEqual([...plain.subarray(12, 20)], [0xbe, 0xde, 0, 1, 0x10, 0x30, 0, 0]);
    });
  }

  it('a new publisher after any clock jump, even one that overflows the timestamp arithmetic, is numbered as JavaScript numbers it', () => {
    const addon = nativeFanout();
    const keys = randomKeys(PROFILES[1].profile, PROFILES[1].saltLength);
    const output = nativeOutput(TRACKS[0]!, keys);
    const js = jsProtector(TRACKS[0]!, keys);
    const nows = [0, 0.5, 1e308, -1e308, 1e308, 33.3333, 33.3389, 2 ** 53, 2 ** 53 + 11.5, -0.4];
    nows.forEach((now, i) => {
      const packet = rtpPacket({ seq: i * 7919, ts: i * 2_654_435_761, ssrc: 100 + (i % 3), payload: Buffer.alloc(20, i) });
      assert.ok(addon.protect(output, packet, now)!.equals(js.protect(packet, now)!), `now ${now}`);
    });
  });

  it('holds video back until a keyframe, at the start and after a new publisher, as the Forwarder does', () => {
    const addon = nativeFanout();
    const steps = scenario(prng(12));
    for (const track of TRACKS) {
      const keys = randomKeys(PROFILES[1].profile, PROFILES[1].saltLength);
      const group = addon.createGroup();
      const output = nativeOutput(track, keys);
      addon.groupAdd(group, output);
      const js = jsViewer(track, keys);
      for (const step of steps) {
        const held = !js.forward(step.packet, step.keyframe, step.now);
        const result = addon.forward(group, step.packet, step.keyframe, step.now);
        assert.equal((result & FORWARD_KEYFRAME_NEEDED) !== 0, held);
      }
      const state = addon.outputState(output);
      assert.equal(state.skippedBeforeKeyframe, js.forwarder.counters.skippedBeforeKeyframe);
      assert.ok(track.video ? state.skippedBeforeKeyframe === 5 : state.skippedBeforeKeyframe === 0, `${track.mid}: ${state.skippedBeforeKeyframe} held back`);
      const info = js.forwarder.senderInfo(state.sourceSsrc!)!;
      assert.equal(state.timestampOffset, info.timestampOffset);
      assert.equal(state.packetsSent, info.packetCount);
      assert.equal(state.octetsSent, info.octetCount);
      assert.equal(state.waitingForKeyframe, false);
      // With keys and no route, nothing was sent.
      assert.equal(state.packets, 0);
    }
  });

  it('starts a joining viewer on the keyframe group: the gate opens and its numbering follows the group', () => {
    const addon = nativeFanout();
    const keys = randomKeys(PROFILES[0].profile, PROFILES[0].saltLength);
    const track = TRACKS[0]!;
    const output = nativeOutput(track, keys);
    const js = jsViewer(track, keys);
    const steps = scenario(prng(13)).slice(45, 60); // the second publisher's, keyframe at the third
    assert.equal(addon.sendGroup(output, [], 0), 0);
    assert.equal(addon.outputState(output).waitingForKeyframe, true, 'an empty group opens nothing');
    addon.sendGroup(
      output,
      steps.slice(2).map((s) => s.packet),
      5,
    );
    js.forwarder.sendKeyframeGroup(
      steps.slice(2).map((s) => ({ packet: s.packet, view: readRtp(s.packet)! })),
      5,
    );
    const state = addon.outputState(output);
    assert.equal(state.waitingForKeyframe, false);
    assert.equal(state.sourceSsrc, readRtp(steps[2]!.packet)!.ssrc);
    assert.equal(state.packetsSent, steps.length - 2);
    // The next live packet is not held back, and continues the same numbering on both paths.
    const group = addon.createGroup();
    addon.groupAdd(group, output);
    const next = rtpPacket({ seq: readRtp(steps.at(-1)!.packet)!.sequenceNumber + 1, ts: 1, ssrc: state.sourceSsrc!, payload: Buffer.from([1]) });
    assert.equal(addon.forward(group, next, false, 6), 0);
    assert.equal(js.forward(next, false, 6), true);
    assert.equal(addon.outputState(output).packetsSent, steps.length - 1);
  });

  it('refuses what readRtp refuses, and counts it', () => {
    const addon = nativeFanout();
    const output = nativeOutput(TRACKS[0]!, randomKeys(PROFILES[0].profile, PROFILES[0].saltLength));
    const group = addon.createGroup();
    addon.groupAdd(group, output);
    const before = addon.stats().malformed;
    const good = rtpPacket({ seq: 1, ts: 1, ssrc: 1, csrcs: 1, extension: Buffer.alloc(4), payload: Buffer.alloc(4) });
    const bad = [
      Buffer.alloc(0),
      good.subarray(0, 11),
      Buffer.from([0x40, ...good.subarray(1)]), // version 1
      Buffer.from([good[0]! | 0x0f, ...good.subarray(1, 20)]), // 15 CSRCs in 20 bytes
      Buffer.from([...good.subarray(0, 16), 0xbe, 0xde, 0xff, 0xff]), // an extension past the end
      Buffer.from([good[0]! | 0x20, ...good.subarray(1, -1), 0]), // padding length 0
      Buffer.from([good[0]! | 0x20, ...good.subarray(1, -1), 200]), // more padding than packet
      Buffer.alloc(70_000, 0x80), // longer than any UDP datagram
    ];
    for (const packet of bad.map(exactly)) {
      assert.equal(addon.protect(output, packet, 0), undefined);
      assert.equal(addon.forward(group, packet, true, 0), FORWARD_MALFORMED);
      assert.equal(addon.send(output, packet, 0), false);
    }
    assert.equal(addon.stats().malformed - before, bad.length * 3);
    assert.equal(addon.outputState(output).packetsSent, 0);
  });

  it('a group and its outputs may be collected in either order; what remains works on', async () => {
    const addon = nativeFanout();
    const keys = randomKeys(PROFILES[1].profile, PROFILES[1].saltLength);
    const survivor = nativeOutput(TRACKS[1]!, keys); // audio: never held back
    const packet = (seq: number) => rtpPacket({ seq, ts: seq, ssrc: 3, payload: Buffer.alloc(50) });
    const group = addon.createGroup();
    for (let i = 0; i < 50; i++) addon.groupAdd(group, nativeOutput(TRACKS[0]!, keys)); // video, referenced by nothing but the group
    addon.groupAdd(group, survivor);
    assert.equal(addon.forward(group, packet(1), false, 0), FORWARD_KEYFRAME_NEEDED, 'the video outputs wait');
    await collectGarbage();
    assert.equal(addon.forward(group, packet(2), false, 0), 0, 'the collected outputs left the group');
    // Now the group goes, the survivor in it.
    addon.groupRemove(group, survivor);
    (() => {
      const doomed = addon.createGroup();
      addon.groupAdd(doomed, survivor);
      addon.forward(doomed, packet(3), false, 0);
    })();
    await collectGarbage();
    const other = addon.createGroup();
    addon.groupAdd(other, survivor); // "in another group" if the collected one were still linked
    assert.equal(addon.forward(other, packet(4), false, 0), 0);
    assert.equal(addon.outputState(survivor).packetsSent, 4);
  });

  it('checks every argument with a TypeError that says what is wrong', () => {
    const addon = nativeFanout();
    const track = TRACKS[0]!;
    const output = addon.createOutput(track);
    const group = addon.createGroup();
    const bad: [() => unknown, RegExp][] = [
      [() => addon.createOutput({ ...track, ssrc: -1 }), /ssrc/],
      [() => addon.createOutput({ ...track, payloadType: 128 }), /payloadType/],
      [() => addon.createOutput({ ...track, clockRate: 0 }), /clockRate/],
      [() => addon.createOutput({ ...track, midExtensionId: 15 }), /midExtensionId/],
      [() => addon.createOutput({ ...track, mid: 'x'.repeat(17) }), /1 to 16 bytes/],
      [() => addon.createOutput({ ...track, video: 1 as unknown as boolean }), /video/],
      [() => addon.setKeys(output, 2, Buffer.alloc(16), Buffer.alloc(14)), /profile/],
      [() => addon.setKeys(output, 1, Buffer.alloc(15), Buffer.alloc(14)), /16 bytes/],
      [() => addon.setKeys(output, 7, Buffer.alloc(16), Buffer.alloc(14)), /12 for AEAD/],
      [() => addon.setRoute(output, -1, '127.0.0.1', 9), /fd/],
      [() => addon.setRoute(output, 0, 'localhost', 9), /address/],
      [() => addon.setRoute(output, 0, '127.0.0.1'.padEnd(100, '1'), 9), /address/],
      [() => addon.forward(output as never, Buffer.alloc(12), true, 0), /group made by createGroup/],
      [() => addon.send(group as never, Buffer.alloc(12), 0), /output made by createOutput/],
      [() => addon.forward(group, 'packet' as never, true, 0), /packet must be a Buffer/],
      [() => addon.forward(group, Buffer.alloc(12), true, NaN), /nowMs/],
      [() => addon.toSourceSeq(output, 65536), /viewerSeq/],
      [() => addon.groupAdd(group, {} as never), /output made by createOutput/],
    ];
    for (const [call, message] of bad) assert.throws(call, (e: Error) => e instanceof TypeError && message.test(e.message));
    assert.throws(() => addon.protect(output, Buffer.alloc(12), 0), /setKeys/);
    // A descriptor that is not a UDP socket is refused: standard input here.
    assert.throws(() => addon.setRoute(output, 0, '127.0.0.1', 9), /UDP socket/);
    const other = addon.createGroup();
    addon.groupAdd(group, output);
    assert.throws(() => addon.groupAdd(other, output), /another group/);
    addon.groupRemove(other, output); // not in it: nothing happens
    addon.groupRemove(group, output);
    addon.groupAdd(other, output);
  });
});

describe('native fan-out (fuzz)', () => {
  it('20 000 random and mutated packets: no crash, refusals counted, and whatever readRtp accepts matches the JavaScript path', () => {
    const addon = nativeFanout();
    const seed = Number(process.env.FUZZ_SEED ?? 20_001);
    const fuzz = new DatagramFuzzer(seed);
    const random = prng(seed);
    const keys = randomKeys(PROFILES[0].profile, PROFILES[0].saltLength);
    const gcmKeys = randomKeys(PROFILES[1].profile, PROFILES[1].saltLength);
    const outputs = TRACKS.map((track, i) => ({ native: nativeOutput(track, i % 2 ? keys : gcmKeys), js: jsProtector(track, i % 2 ? keys : gcmKeys) }));
    // forward() and send() run too, on outputs with keys and no route (no sockets in a unit test).
    const group = addon.createGroup();
    const gated = TRACKS.map((track) => nativeOutput(track, keys));
    for (const o of gated) addon.groupAdd(group, o);
    const seeds = scenario(random).map((s) => s.packet);
    let refused = 0;
    const before = addon.stats().malformed;
    for (let i = 0; i < 20_000; i++) {
      const base = fuzz.pick(seeds);
      let packet: Buffer;
      switch (fuzz.int(6)) {
        case 0:
          packet = fuzz.randomDatagram(128, 191);
          break;
        case 1:
          packet = base.subarray(0, fuzz.int(base.length + 1)); // truncated
          break;
        case 2:
          packet = Buffer.from(base);
          packet[0] = (packet[0]! & 0xf0) | fuzz.int(16); // any CSRC count
          break;
        case 3:
          packet = Buffer.from(base);
          packet[0]! |= 0x10; // an extension, its length whatever the bytes say
          packet.writeUInt16BE(fuzz.int(65536), Math.min(packet.length - 2, 12 + (packet[0]! & 0x0f) * 4 + 2));
          break;
        case 4:
          packet = Buffer.from(base);
          packet[0]! |= 0x20;
          packet[packet.length - 1] = fuzz.pick([0, 1, packet.length, packet.length + 1, 255, fuzz.int(256)]);
          break;
        default:
          packet = fuzz.mutate({ kind: 'rtp', packet: base });
      }
      const now = 1000 + i * 10;
      const o = outputs[i % outputs.length]!;
      const expected = o.js.protect(packet, now);
      packet = exactly(packet);
      const actual = addon.protect(o.native, packet, now);
      if (expected === undefined) {
        refused++;
        assert.equal(actual, undefined, `seed ${seed}, input ${i}: refused by readRtp, not by the addon`);
      } else {
        assert.ok(actual?.equals(expected), `seed ${seed}, input ${i}: differs from the JavaScript path`);
      }
      addon.forward(group, packet, fuzz.chance(0.1), now);
      addon.send(gated[i % gated.length]!, packet, now);
    }
    assert.ok(refused > 1000, `only ${refused} inputs were refused: the mutations are too tame`);
    assert.equal(addon.stats().malformed - before, refused * 3);
  });
});
