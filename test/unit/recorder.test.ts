// Pure parts of the recorder: the SDP ffmpeg reads, the playlist helpers, the ffmpeg
// arguments, the reading of ffmpeg's error lines, the renumbering around left-out
// packets and the NTP/RTP arithmetic of the clock reports.
import { strict as assert } from 'node:assert';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  continuationIn,
  hlsArguments,
  INPUT_TIMEOUT_S,
  isBindFailure,
  outputErrorIn,
  parseEncoders,
  parseFormats,
  RESTART_GAP_S,
} from '../../src/recorder/ffmpeg';
import {
  extendsPlaylist,
  nextFreeSegmentIndex,
  parsePlaylist,
  playlistDuration,
  startNumberFor,
  withEndList,
  withoutSegments,
} from '../../src/recorder/playlist';
import { ntpAt, ntpSeconds, rtpAt, type MediaClock } from '../../src/recorder/mediaClock';
import { segmentIndex } from '../../src/recordings/layout';
import { buildRecorderSdp } from '../../src/recorder/recorderSdp';
import { SequenceGaps } from '../../src/recorder/sequenceGaps';

const PLAYLIST = [
  '#EXTM3U',
  '#EXT-X-VERSION:6',
  '#EXT-X-TARGETDURATION:2',
  '#EXT-X-MEDIA-SEQUENCE:0',
  '#EXT-X-PLAYLIST-TYPE:EVENT',
  '#EXT-X-INDEPENDENT-SEGMENTS',
  '#EXTINF:2.000000,',
  '#EXT-X-PROGRAM-DATE-TIME:2026-01-01T00:00:00.000+0000',
  'seg_00000.ts',
  '#EXTINF:2.000000,',
  '#EXT-X-PROGRAM-DATE-TIME:2026-01-01T00:00:02.000+0000',
  'seg_00001.ts',
  '#EXT-X-DISCONTINUITY',
  '#EXTINF:1.966667,',
  '#EXT-X-PROGRAM-DATE-TIME:2026-01-01T00:00:05.000+0000',
  'seg_00002.ts',
  '',
].join('\n');

describe('recorder SDP', () => {
  it('describes H.264 (packetization-mode 1) and Opus on loopback, RTCP implied on port + 1', () => {
    const sdp = buildRecorderSdp({ video: { codec: 'H264', port: 40000 }, audio: { port: 40002 } });
    const lines = sdp.split('\r\n');
    assert.equal(lines[0], 'v=0');
    assert.ok(lines.includes('c=IN IP4 127.0.0.1'));
    assert.ok(lines.includes('m=video 40000 RTP/AVP 96'));
    assert.ok(lines.includes('a=rtpmap:96 H264/90000'));
    assert.ok(lines.includes('a=fmtp:96 packetization-mode=1'));
    assert.ok(lines.includes('m=audio 40002 RTP/AVP 111'));
    assert.ok(lines.includes('a=rtpmap:111 opus/48000/2'));
    assert.ok(sdp.endsWith('\r\n'));
    assert.ok(sdp.indexOf('m=video') < sdp.indexOf('m=audio'));
  });

  it('describes VP8 without fmtp, audio only, video only', () => {
    const vp8 = buildRecorderSdp({ video: { codec: 'VP8', port: 50000, payloadType: 100 } });
    assert.match(vp8, /m=video 50000 RTP\/AVP 100\r\na=rtpmap:100 VP8\/90000\r\n/);
    assert.doesNotMatch(vp8, /fmtp|m=audio/);
    const audio = buildRecorderSdp({ audio: { port: 50002 } });
    assert.doesNotMatch(audio, /m=video/);
    assert.match(audio, /m=audio 50002 RTP\/AVP 111/);
  });

  it('refuses odd or out-of-range ports, shared ports, static payload types and an empty recording', () => {
    assert.throws(() => buildRecorderSdp({ audio: { port: 40001 } }), /even/);
    assert.throws(() => buildRecorderSdp({ audio: { port: 65536 } }), /even/);
    assert.throws(() => buildRecorderSdp({ video: { codec: 'H264', port: 40000 }, audio: { port: 40000 } }), /different ports/);
    assert.throws(() => buildRecorderSdp({ audio: { port: 40000, payloadType: 8 } }), /dynamic/);
    assert.throws(() => buildRecorderSdp({}), /audio, video or both/);
  });
});

describe('recorder playlist helpers', () => {
  it('parses segments, durations, discontinuities and the playlist type', () => {
    const p = parsePlaylist(PLAYLIST);
    assert.equal(p.valid, true);
    assert.equal(p.playlistType, 'EVENT');
    assert.equal(p.endList, false);
    assert.deepEqual(
      p.segments.map((s) => [s.uri, s.duration, s.discontinuity]),
      [
        ['seg_00000.ts', 2, false],
        ['seg_00001.ts', 2, false],
        ['seg_00002.ts', 1.966667, true],
      ],
    );
    assert.equal(playlistDuration(p), 5.967);
    assert.equal(parsePlaylist('').valid, false);
    assert.equal(parsePlaylist('garbage').valid, false);
    assert.equal(parsePlaylist(withEndList(PLAYLIST)).endList, true);
  });

  it('finds the next free segment index from the playlist and the files on disk', () => {
    const p = parsePlaylist(PLAYLIST);
    assert.equal(segmentIndex('seg_00042.ts'), 42);
    assert.equal(segmentIndex('index.m3u8'), undefined);
    assert.equal(nextFreeSegmentIndex(p, []), 3);
    assert.equal(nextFreeSegmentIndex(p, ['seg_00007.ts', 'meta.json']), 8);
    assert.equal(nextFreeSegmentIndex(parsePlaylist(''), []), 0);
  });

  it('turns the next free index into the -start_number ffmpeg adds the listed segments to', () => {
    // ffmpeg 5.1 with append_list: first new segment = start_number + segments read.
    assert.equal(startNumberFor(3, 3, true), 0);
    assert.equal(startNumberFor(8, 3, true), 5);
    assert.equal(startNumberFor(4, 0, false), 4);
  });

  it('tells a grown playlist from a shortened, rewritten or empty one', () => {
    const before = parsePlaylist(PLAYLIST);
    const grown = parsePlaylist(PLAYLIST + '#EXTINF:2.0,\nseg_00003.ts\n');
    assert.equal(extendsPlaylist(before, grown), true);
    assert.equal(extendsPlaylist(before, before), true);
    assert.equal(extendsPlaylist(grown, before), false);
    assert.equal(extendsPlaylist(before, parsePlaylist('')), false);
    assert.equal(extendsPlaylist(before, parsePlaylist(PLAYLIST.replace('seg_00001', 'seg_00009'))), false);
    assert.equal(extendsPlaylist(parsePlaylist(''), before), true);
  });

  it('adds ENDLIST once, and drops segments (moving their discontinuity on)', () => {
    const ended = withEndList(PLAYLIST);
    assert.ok(ended.endsWith('seg_00002.ts\n#EXT-X-ENDLIST\n'));
    assert.equal(withEndList(ended), ended);
    const without = withoutSegments(PLAYLIST + '#EXTINF:2.0,\nseg_00003.ts\n', new Set(['seg_00002.ts']));
    const p = parsePlaylist(without);
    assert.deepEqual(
      p.segments.map((s) => [s.uri, s.discontinuity]),
      [
        ['seg_00000.ts', false],
        ['seg_00001.ts', false],
        ['seg_00003.ts', true],
      ],
    );
    assert.doesNotMatch(without, /1\.966667/);
  });
});

describe('recorder ffmpeg arguments', () => {
  const base = { sdpFile: '/tmp/in.sdp', outDir: '/rec/room/id', audio: true, append: false, startNumber: 0 };

  it('copies H.264, transcodes Opus to AAC, writes an EVENT playlist of 2 s MPEG-TS segments', () => {
    const { input, output } = hlsArguments({ ...base, video: 'H264' });
    const joined = [...input, '|', ...output].join(' ');
    assert.match(joined, /-protocol_whitelist file,udp,rtp/);
    assert.match(joined, /-localaddr 127\.0\.0\.1/);
    assert.match(joined, /-reorder_queue_size \d+/);
    assert.match(joined, /-fflags \+genpts/);
    assert.match(joined, new RegExp(`-listen_timeout ${INPUT_TIMEOUT_S} -f sdp \\|`), 'the input ends after INPUT_TIMEOUT_S without a datagram');
    assert.match(joined, /-c:v copy/);
    assert.doesNotMatch(joined, /libx264/);
    assert.match(joined, /-c:a aac -b:a 128k/);
    assert.match(joined, /-f hls -hls_time 2 .*-hls_playlist_type event/);
    assert.match(joined, /-hls_flags independent_segments\+program_date_time /);
    assert.match(joined, /-start_number 0 /);
    assert.match(joined, /-hls_segment_filename \/rec\/room\/id\/seg_%05d\.ts/);
    assert.deepEqual(output.slice(0, 4), ['-map', '0:v:0', '-map', '0:a:0']);
  });

  it('transcodes VP8 with libx264 (keyframe every 2 s, each frame at its own time), appends after a restart', () => {
    const { output } = hlsArguments({ ...base, video: 'VP8', append: true, startNumber: 4 });
    const joined = output.join(' ');
    assert.match(joined, /-c:v libx264 -preset veryfast -tune zerolatency -pix_fmt yuv420p/);
    assert.match(joined, /-force_key_frames expr:gte\(t,n_forced\*2\)/);
    // Not the demuxer's frame-rate guess (90000 fps under load) as a constant output rate.
    assert.match(joined, /-fps_mode vfr -x264-params fps=30:force-cfr=0/);
    assert.match(joined, /-hls_flags independent_segments\+program_date_time\+append_list\+discont_start/);
    assert.match(joined, /-start_number 4/);
  });

  it('after a restart, runs the timestamps on from the recorded media and flags the new continuity counters', () => {
    const fresh = hlsArguments({ ...base, video: 'H264' }).output.join(' ');
    assert.doesNotMatch(fresh, /output_ts_offset|initial_discontinuity/);
    const again = hlsArguments({ ...base, video: 'H264', append: true, startNumber: 0, tsOffset: 6.2 }).output.join(' ');
    assert.match(again, /-output_ts_offset 6\.200/);
    assert.match(again, /-hls_ts_options mpegts_flags=\+initial_discontinuity/);
  });

  it('continues a directory: start number and timestamp offset from its playlist and files', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'onecast-recorder-unit-'));
    try {
      assert.deepEqual(await continuationIn(dir, false), { startNumber: 0, tsOffset: 0 });
      await fs.writeFile(path.join(dir, 'index.m3u8'), PLAYLIST);
      await fs.writeFile(path.join(dir, 'seg_00004.ts'), '');
      // Next free index 5, 3 segments listed (ffmpeg adds them), 2 runs so far (one discontinuity).
      assert.deepEqual(await continuationIn(dir, true), { startNumber: 2, tsOffset: playlistDuration(parsePlaylist(PLAYLIST)) + 2 * RESTART_GAP_S });
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it('gives every video packet the time to the next one as its duration (the last segment is listed by their sum)', () => {
    for (const video of ['H264', 'VP8'] as const) {
      const { output } = hlsArguments({ ...base, video });
      const i = output.indexOf('-bsf:v');
      assert.ok(i > 0, video);
      // The commas inside the expression are escaped: unescaped, they would separate bitstream filters.
      assert.equal(output[i + 1], 'setts=duration=if(gt(NEXT_DTS\\,DTS)\\,NEXT_DTS-DTS\\,PREV_OUTDURATION)');
    }
    assert.doesNotMatch(hlsArguments({ ...base }).output.join(' '), /-bsf/);
  });

  it('maps only what is recorded', () => {
    assert.deepEqual(hlsArguments({ ...base }).output.slice(0, 2), ['-map', '0:a:0']);
    assert.doesNotMatch(hlsArguments({ ...base, video: 'H264', audio: false }).output.join(' '), /0:a|aac/);
    assert.throws(() => hlsArguments({ ...base, audio: false }), /audio, video or both/);
  });

  it('reads the failures in ffmpeg error lines', () => {
    assert.match(outputErrorIn("[hls @ 0x55] [error] Failed to open file '/x/seg_00000.ts'")!, /cannot write the recording: Failed to open file/);
    assert.equal(outputErrorIn('[file @ 0x1] [error] No space left on device'), 'the disk is full');
    assert.equal(outputErrorIn('[h264 @ 0x1] [warning] non-existing PPS 0 referenced'), undefined);
    assert.equal(isBindFailure('[udp @ 0x5] bind failed: Address already in use'), true);
    assert.equal(isBindFailure('in.sdp: Invalid data found when processing input'), false);
  });
});

describe('recorder ffmpeg capabilities', () => {
  it('reads the muxers and demuxers of ffmpeg -formats, names shared by one line included', () => {
    const formats = parseFormats(
      [
        'File formats:',
        ' D. = Demuxing supported',
        ' .E = Muxing supported',
        ' --',
        ' D  3dostr          3DO STR',
        '  E 3g2             3GP2 (3GPP2 file format)',
        ' DE hls             Apple HTTP Live Streaming',
        ' D  mov,mp4,m4a,3gp,3g2,mj2 QuickTime / MOV',
        ' D  sdp             SDP',
        '',
      ].join('\n'),
    );
    assert.deepEqual(formats.get('hls'), { demux: true, mux: true });
    assert.deepEqual(formats.get('sdp'), { demux: true, mux: false });
    assert.deepEqual(formats.get('3g2'), { demux: true, mux: true }, 'a muxer on one line, a demuxer on another');
    assert.equal(formats.get('mp4')?.demux, true);
    assert.equal(formats.has('='), false, 'not the legend');
  });

  it('reads the encoders of ffmpeg -encoders, not the legend', () => {
    const encoders = parseEncoders(
      [
        'Encoders:',
        ' V..... = Video',
        ' A..... = Audio',
        ' ------',
        ' V....D libx264              libx264 H.264 / AVC (codec h264)',
        ' A..... aac                  AAC (Advanced Audio Coding)',
        '',
      ].join('\n'),
    );
    assert.deepEqual([...encoders].sort(), ['aac', 'libx264']);
  });
});

describe('recorder sequence numbers around left-out packets', () => {
  it('passes numbers through while nothing is left out', () => {
    const gaps = new SequenceGaps();
    for (const n of [100, 101, 102, 103]) assert.equal(gaps.renumber(n), n);
  });

  it('closes the hole a left-out run of packets leaves, across the 16-bit wrap', () => {
    const gaps = new SequenceGaps();
    assert.equal(gaps.renumber(65533), 65533);
    gaps.skip(65534);
    gaps.skip(65535);
    gaps.skip(0);
    assert.deepEqual(
      [1, 2, 3].map((n) => gaps.renumber(n)),
      [65534, 65535, 0],
    );
    gaps.skip(4);
    assert.equal(gaps.renumber(5), 1);
  });

  it('numbers a late packet by the packets left out before it, not after it', () => {
    const gaps = new SequenceGaps();
    assert.equal(gaps.renumber(10), 10);
    gaps.skip(11);
    assert.equal(gaps.renumber(13), 12);
    gaps.skip(14);
    assert.equal(gaps.renumber(15), 13);
    // 12 comes late (a retransmission): only 11 was left out before it, so it fills the slot between 10 and 12.
    assert.equal(gaps.renumber(12), 11);
    assert.equal(gaps.renumber(16), 14);
  });

  it('forgets nothing it needs over a long run of skips (numbers stay contiguous)', () => {
    const gaps = new SequenceGaps();
    const out: number[] = [];
    for (let n = 0; n < 20_000; n++) {
      if (n % 7 === 3) gaps.skip(n & 0xffff);
      else out.push(gaps.renumber(n & 0xffff));
    }
    for (let i = 1; i < out.length; i++) assert.equal(out[i], (out[i - 1]! + 1) & 0xffff, `at ${i}`);
  });
});

describe('recorder media clock', () => {
  const video: MediaClock = { ntpTime: (3_900_000_000n << 32n) + (1n << 31n), rtpTimestamp: 4_294_000_000, clockRate: 90000 };

  it('names the wall-clock time of an RTP timestamp, before or after the report, across the 32-bit wrap', () => {
    assert.equal(ntpAt(video, video.rtpTimestamp), video.ntpTime);
    assert.equal(ntpAt(video, (video.rtpTimestamp + 90000) >>> 0), video.ntpTime + ntpSeconds(1));
    assert.equal(ntpAt(video, video.rtpTimestamp - 45000), video.ntpTime - ntpSeconds(0.5));
  });

  it('names the RTP timestamp of a wall-clock time: the inverse', () => {
    assert.equal(rtpAt(video, video.ntpTime + ntpSeconds(1)), (video.rtpTimestamp + 90000) >>> 0);
    assert.equal(rtpAt(video, video.ntpTime - ntpSeconds(2)), video.rtpTimestamp - 180000);
    const audio: MediaClock = { ntpTime: video.ntpTime + ntpSeconds(0.3), rtpTimestamp: 1234, clockRate: 48000 };
    // The instant of a video timestamp, as an audio timestamp: 0.7 s of audio after 1234.
    assert.equal(rtpAt(audio, ntpAt(video, (video.rtpTimestamp + 90000) >>> 0)), 1234 + 33600);
  });
});
