/// <reference types="mocha" />
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { ensureFixtures, isKeyframe, loadMedia, nalTypes, readOggOpusPackets, splitAccessUnits } from '../clients/media';

/** Builds one Ogg page (CRC left zero: the demuxer does not verify it). */
function oggPage(opts: { serial?: number; continued?: boolean; segments: number[]; body: Buffer }): Buffer {
  const header = Buffer.alloc(27);
  header.write('OggS', 0, 'latin1');
  header[4] = 0;
  header[5] = opts.continued ? 0x01 : 0x00;
  header.writeUInt32LE(opts.serial ?? 1234, 14);
  header[26] = opts.segments.length;
  return Buffer.concat([header, Buffer.from(opts.segments), opts.body]);
}

function lacing(size: number): number[] {
  const out: number[] = [];
  while (size >= 255) {
    out.push(255);
    size -= 255;
  }
  out.push(size);
  return out;
}

/** Opus TOC configurations with a 20 ms frame size (RFC 6716, 3.1): SILK, hybrid, CELT. */
const OPUS_20MS_CONFIGS = new Set([1, 5, 9, 13, 15, 19, 23, 27, 31]);

describe('test media (ffmpeg fixtures)', function () {
  this.timeout(120_000);

  let files: { h264: string; opus: string };
  before(async () => {
    files = await ensureFixtures();
  });

  it('generates non-empty fixture files, and a second call reuses them', async () => {
    for (const f of [files.h264, files.opus]) {
      const st = await fs.stat(f);
      assert.ok(st.size > 0, `${f} is empty`);
    }
    const before = (await fs.stat(files.h264)).mtimeMs;
    const again = await ensureFixtures();
    assert.deepEqual(again, files);
    assert.equal((await fs.stat(files.h264)).mtimeMs, before);
  });

  describe('H.264', () => {
    let units: Buffer[];
    before(async () => {
      units = splitAccessUnits(await fs.readFile(files.h264));
    });

    it('has 300 access units (10 s at 30 fps)', () => {
      assert.ok(Math.abs(units.length - 300) <= 1, `got ${units.length} access units`);
    });

    it('starts every access unit with a start code and an AUD', () => {
      for (const [i, au] of units.entries()) {
        const sc4 = au.subarray(0, 4).equals(Buffer.from([0, 0, 0, 1]));
        const sc3 = au.subarray(0, 3).equals(Buffer.from([0, 0, 1]));
        assert.ok(sc4 || sc3, `access unit ${i} does not start with a start code`);
        assert.equal(nalTypes(au)[0], 9, `access unit ${i} does not start with an AUD`);
      }
    });

    it('first access unit is a keyframe with SPS + PPS + IDR in-band', () => {
      const types = nalTypes(units[0]!);
      assert.ok(types.includes(7), `no SPS in ${types}`);
      assert.ok(types.includes(8), `no PPS in ${types}`);
      assert.ok(types.includes(5), `no IDR in ${types}`);
      assert.ok(types.indexOf(7) < types.indexOf(5) && types.indexOf(8) < types.indexOf(5));
      assert.ok(isKeyframe(units[0]!));
    });

    it('has a keyframe (with SPS/PPS) every 30 frames and nowhere else', () => {
      for (const [i, au] of units.entries()) {
        const key = isKeyframe(au);
        assert.equal(key, i % 30 === 0, `access unit ${i}: keyframe=${key}`);
        if (key) {
          const types = nalTypes(au);
          assert.ok(types.includes(7) && types.includes(8), `keyframe ${i} lacks SPS/PPS: ${types}`);
        }
      }
    });

    it('High profile (profile_idc 100) at 640x360 is what the SPS says', () => {
      const au = units[0]!;
      const sps = au.indexOf(Buffer.from([0, 0, 1, 0x67]));
      assert.ok(sps >= 0);
      assert.equal(au[sps + 4], 100); // profile_idc
    });

    it('loses no bytes: the access units concatenate back to the file', async () => {
      const raw = await fs.readFile(files.h264);
      assert.ok(Buffer.concat(units).equals(raw));
    });
  });

  describe('Opus', () => {
    let packets: Buffer[];
    before(async () => {
      packets = readOggOpusPackets(await fs.readFile(files.opus));
    });

    it('has 500 packets (10 s of 20 ms frames)', () => {
      assert.ok(Math.abs(packets.length - 500) <= 2, `got ${packets.length} packets`);
    });

    it('each packet is a plausible single-frame 20 ms Opus packet', () => {
      for (const [i, p] of packets.entries()) {
        assert.ok(p.length >= 1 && p.length <= 1275, `packet ${i} has ${p.length} bytes`);
        const toc = p[0]!;
        const config = toc >> 3;
        assert.ok(OPUS_20MS_CONFIGS.has(config), `packet ${i}: TOC config ${config} is not 20 ms`);
        assert.equal(toc & 0x03, 0, `packet ${i}: expected one frame per packet (code 0)`);
      }
    });

    it('does not return the OpusHead / OpusTags header packets', () => {
      for (const p of packets) {
        const magic = p.toString('latin1', 0, 8);
        assert.notEqual(magic, 'OpusHead');
        assert.notEqual(magic, 'OpusTags');
      }
    });
  });

  it('loadMedia returns the parsed frames and the picture format, cached', async () => {
    const m = await loadMedia();
    assert.equal(m.width, 640);
    assert.equal(m.height, 360);
    assert.equal(m.fps, 30);
    assert.ok(Math.abs(m.videoFrames.length - 300) <= 1);
    assert.ok(Math.abs(m.audioFrames.length - 500) <= 2);
    assert.equal(await loadMedia(), m);
  });
});

describe('media parsing (synthetic input)', () => {
  it('splitAccessUnits splits at AUDs and keeps 3- and 4-byte start codes', () => {
    const au1 = Buffer.from([0, 0, 0, 1, 0x09, 0xf0, 0, 0, 0, 1, 0x67, 1, 2, 0, 0, 1, 0x68, 3, 0, 0, 1, 0x65, 0x88, 4]);
    const au2 = Buffer.from([0, 0, 1, 0x09, 0x30, 0, 0, 1, 0x41, 0x9a, 5, 0, 0, 1, 0x41, 0x01, 6]);
    const units = splitAccessUnits(Buffer.concat([au1, au2]));
    assert.equal(units.length, 2);
    assert.ok(units[0]!.equals(au1));
    assert.ok(units[1]!.equals(au2));
    assert.deepEqual(nalTypes(units[0]!), [9, 7, 8, 5]);
    assert.deepEqual(nalTypes(units[1]!), [9, 1, 1]);
    assert.equal(isKeyframe(units[0]!), true);
    assert.equal(isKeyframe(units[1]!), false);
  });

  it('splitAccessUnits without AUDs splits at SPS and at first_mb_in_slice == 0', () => {
    const key = Buffer.from([0, 0, 0, 1, 0x67, 1, 0, 0, 0, 1, 0x68, 2, 0, 0, 0, 1, 0x65, 0x88, 3, 0, 0, 1, 0x65, 0x40, 4]);
    const p1 = Buffer.from([0, 0, 0, 1, 0x41, 0x9a, 5, 0, 0, 1, 0x41, 0x20, 6]);
    const p2 = Buffer.from([0, 0, 0, 1, 0x41, 0x9a, 7]);
    const units = splitAccessUnits(Buffer.concat([key, p1, p2]));
    assert.equal(units.length, 3);
    assert.ok(units[0]!.equals(key));
    assert.ok(units[1]!.equals(p1));
    assert.ok(units[2]!.equals(p2));
  });

  it('readOggOpusPackets joins 255-laced packets spanning pages and skips the headers', () => {
    const head = Buffer.concat([Buffer.from('OpusHead', 'latin1'), Buffer.alloc(11)]);
    const tags = Buffer.concat([Buffer.from('OpusTags', 'latin1'), Buffer.alloc(8)]);
    const a = Buffer.alloc(10, 0xfc);
    const big = Buffer.alloc(600, 0xfd); // 255 + 255 + 90, split across two pages
    const b = Buffer.alloc(255, 0xfe); // exactly 255 bytes: needs a terminating 0 lacing value
    const c = Buffer.alloc(3, 0xfb);

    const page0 = oggPage({ segments: lacing(head.length), body: head });
    const page1 = oggPage({ segments: lacing(tags.length), body: tags });
    // a, then the first 510 bytes of `big` (lacing 255, 255: the packet continues)
    const page2 = oggPage({ segments: [10, 255, 255], body: Buffer.concat([a, big.subarray(0, 510)]) });
    // continuation: the last 90 bytes of `big`, then b (255 + 0), then c
    const page3 = oggPage({
      continued: true,
      segments: [90, 255, 0, 3],
      body: Buffer.concat([big.subarray(510), b, c]),
    });
    // a page of another logical stream is ignored
    const other = oggPage({ serial: 99, segments: [4], body: Buffer.from([1, 2, 3, 4]) });

    const packets = readOggOpusPackets(Buffer.concat([page0, page1, page2, other, page3]));
    assert.equal(packets.length, 4);
    assert.ok(packets[0]!.equals(a));
    assert.ok(packets[1]!.equals(big));
    assert.ok(packets[2]!.equals(b));
    assert.ok(packets[3]!.equals(c));
  });

  it('readOggOpusPackets rejects input that is not Ogg Opus', () => {
    assert.throws(() => readOggOpusPackets(Buffer.from('not an ogg file at all, sorry....')), /OggS/);
    const vorbis = oggPage({ segments: [7], body: Buffer.from('\x01vorbis', 'latin1') });
    const x = oggPage({ segments: [1], body: Buffer.from([0]) });
    assert.throws(() => readOggOpusPackets(Buffer.concat([vorbis, x])), /OpusHead/);
  });
});
