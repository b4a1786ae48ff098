// Unit tests of the SDP negotiation module (src/sdp/): parseOffer, negotiate, buildAnswer and the
// H.264 fmtp helpers, on real offers (test/fixtures/sdp/), and answers fed back to the real stacks:
// libdatachannel (node-datachannel, OBS's WebRTC stack) and Debian's chromium (playwright-core).
//
// Fixtures: obs.sdp was produced by node-datachannel set up as OBS's WHIP output does
// (plugins/obs-webrtc/whip-output.cpp); chromium.sdp / chromium-recvonly.sdp by Chromium 156
// (sendonly / recvonly audio+video transceivers, gathering complete). gstreamer.sdp is HAND-WRITTEN
// after what GStreamer's webrtcbin emits with max-bundle (m=video 0 + a=bundle-only, ICE credentials
// and a=fingerprint in every section, OPUS in upper case, mids "audio0"/"video1").
// libdatachannel-recvonly.sdp: node-datachannel 0.33 as a WHEP player (Audio '0' RecvOnly opus 111,
// Video '1' RecvOnly H264 96).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import nodeDataChannel, { Audio, PeerConnection, Video } from 'node-datachannel';
import { launchChromium } from '../support/browser';
import type { Browser, Page } from 'playwright-core';
import { buildAnswer, hostCandidatePriority } from '../../src/sdp/answer';
import {
  DEFAULT_PROFILE_LEVEL_ID,
  describeProfileLevelId,
  h264Compatibility,
  h264ProfileLevelId,
  isSameH264Profile,
  isUsableH264,
  levelAsymmetryAllowed,
  packetizationMode,
  parseProfileLevelId,
} from '../../src/sdp/h264';
import { negotiate, parseFmtp, parseOffer } from '../../src/sdp/offer';
import { PLAY_EXTENSIONS, PLAY_FEEDBACK, negotiatePlay, pickViewerCodec, sourceTracks } from '../../src/sdp/play';
import { OfferError } from '../../src/sdp/types';
import type { Codec, NegotiatedMedia, ParsedOffer, PlayMedia, Role, SourceTrack } from '../../src/sdp/types';

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'sdp');
const fixture = (name: string): string => readFileSync(path.join(FIXTURES, name), 'utf8');

const UFRAG = 'myroom/3fa9c1d2+Ab';
const PWD = 'Zx8v/QwErTy+UiOpAsDfGh12';
const CANDIDATES = [
  { ip: '127.0.0.1', port: 8189 },
  { ip: '192.0.2.10', port: 8189 },
  { ip: '::1', port: 8189 },
];

function randomFingerprint(): string {
  return `sha-256 ${[...randomBytes(32)].map((b) => b.toString(16).padStart(2, '0').toUpperCase()).join(':')}`;
}

function answerFor(offer: ParsedOffer, media: NegotiatedMedia[], role: Role = 'publish', extra: Partial<Parameters<typeof buildAnswer>[0]> = {}): string {
  return buildAnswer({
    offer,
    role,
    media,
    iceUfrag: UFRAG,
    icePwd: PWD,
    fingerprint: randomFingerprint(),
    candidates: CANDIDATES,
    ...extra,
  });
}

function publishAnswer(sdp: string): { offer: ParsedOffer; media: NegotiatedMedia[]; answer: string } {
  const offer = parseOffer(sdp, 'publish');
  const media = negotiate(offer, 'publish');
  return { offer, media, answer: answerFor(offer, media) };
}

/** The answer's media sections, each as its list of lines (m= line first). */
function sections(sdp: string): string[][] {
  const out: string[][] = [];
  for (const line of sdp.split('\r\n')) {
    if (line.startsWith('m=')) out.push([line]);
    else if (out.length > 0 && line) out[out.length - 1]!.push(line);
  }
  return out;
}

function sessionPart(sdp: string): string[] {
  const lines = sdp.split('\r\n');
  return lines.slice(0, lines.findIndex((l) => l.startsWith('m=')));
}

/** parse + negotiate must throw an OfferError of the kind the client gets this status for (400 malformed, 422 unacceptable); returns its message. */
function rejection(sdp: string, role: Role, status: 400 | 422): string {
  let caught: unknown;
  try {
    const offer = parseOffer(sdp, role);
    if (role === 'publish') negotiate(offer, role);
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof OfferError, `expected an OfferError, got ${String(caught)}`);
  assert.equal(caught.kind, status === 400 ? 'malformed' : 'unacceptable', caught.message);
  assert.match(caught.message, /^[A-Z].*\.$/, 'one sentence');
  assert.ok(!/undefined|TypeError|Cannot read/.test(caught.message), caught.message);
  return caught.message;
}

// node-datachannel 0.33: cleanup() closes every Track wrapper it ever made, and a wrapper that
// was garbage-collected in between is a dangling pointer there (SIGSEGV in rtc::Track::close from
// TrackWrapper::CloseAll, seen at the end of this file when the Chromium tests gave the GC time).
// So every PeerConnection and Track made here stays referenced until after() has called cleanup().
const keepAlive: unknown[] = [];

/** An OBS-like PeerConnection (as whip-output.cpp builds it) with its offer. */
function obsPeer(): { pc: PeerConnection; offer: string; close(): void } {
  const pc = new PeerConnection('obs', { iceServers: [] });
  const ssrc = randomBytes(4).readUInt32BE() & 0x7ffffffe;
  const cname = randomBytes(8).toString('hex');
  const msid = randomBytes(8).toString('hex');
  const a = new Audio('0', 'SendOnly');
  a.addOpusCodec(111);
  a.addSSRC(ssrc, cname, msid, `${msid}-audio`);
  const audioTrack = pc.addTrack(a);
  const v = new Video('1', 'SendOnly');
  v.addSSRC(ssrc + 1, cname, msid, `${msid}-video`);
  v.addH264Codec(96);
  const videoTrack = pc.addTrack(v);
  pc.setLocalDescription();
  const desc = pc.localDescription();
  assert.ok(desc, 'libdatachannel made an offer');
  keepAlive.push(pc, audioTrack, videoTrack);
  const close = (): void => {
    audioTrack.close();
    videoTrack.close();
    pc.close();
  };
  return { pc, offer: desc.sdp, close };
}

// A minimal valid offer to build the bad cases from: one section per entry, bundled.
function offerWith(sectionsText: string[], session = 'a=group:BUNDLE 0 1'): string {
  const head = [
    'v=0',
    'o=- 123 2 IN IP4 127.0.0.1',
    's=-',
    't=0 0',
    session,
    'a=fingerprint:sha-256 48:E3:2B:9D:03:4C:8E:1D:1A:D1:4E:B3:1C:E1:FB:D1:9F:CE:28:3D:8E:30:1F:54:CD:7E:3A:C5:4E:EF:58:D1',
    'a=ice-ufrag:abcd',
    'a=ice-pwd:abcdefghijklmnopqrstuvwx',
  ];
  return [...head, ...sectionsText].join('\r\n') + '\r\n';
}

const OPUS_SECTION = [
  'm=audio 9 UDP/TLS/RTP/SAVPF 111',
  'c=IN IP4 0.0.0.0',
  'a=mid:0',
  'a=sendonly',
  'a=setup:actpass',
  'a=rtcp-mux',
  'a=rtpmap:111 opus/48000/2',
  'a=fmtp:111 minptime=10;useinbandfec=1',
].join('\r\n');

function videoSection(mid: string, fmts: string, codecLines: string[], extra: string[] = []): string {
  return [
    `m=video 9 UDP/TLS/RTP/SAVPF ${fmts}`,
    'c=IN IP4 0.0.0.0',
    `a=mid:${mid}`,
    'a=sendonly',
    'a=setup:actpass',
    'a=rtcp-mux',
    ...codecLines,
    ...extra,
  ].join('\r\n');
}

const H264_PM1 = ['a=rtpmap:96 H264/90000', 'a=rtcp-fb:96 nack pli', 'a=fmtp:96 profile-level-id=42e01f;packetization-mode=1'];

describe('sdp', function () {
  let browser: Browser | undefined;
  let page: Page | undefined;

  async function chromiumPage(): Promise<Page> {
    if (!page) {
      browser = await launchChromium();
      page = await browser.newPage();
    }
    return page;
  }

  after(async function () {
    await browser?.close();
    nodeDataChannel.cleanup();
  });

  describe('OBS (libdatachannel) offer', function () {
    it('is accepted: ice-lite, passive, recvonly, BUNDLE 0 1, opus 111 and H264 96 pm=1', function () {
      const { offer, answer } = publishAnswer(fixture('obs.sdp'));
      assert.equal(offer.iceUfrag, 'I0GW');
      assert.equal(offer.setup, 'actpass');
      assert.equal(offer.extmapAllowMixed, false, 'OBS does not offer extmap-allow-mixed (werift says it does)');
      assert.deepEqual(offer.media.map((m) => m.ssrcs), [[305419896], [305419897]], 'audio and video told apart by a=ssrc');
      assert.equal(offer.media[0]!.cname, 'a1b2c3d4e5f6g7h8');

      assert.ok(answer.endsWith('\r\n'));
      assert.ok(!/[^\r]\n/.test(answer), 'CRLF line endings only');
      const session = sessionPart(answer);
      assert.equal(session[0], 'v=0');
      assert.match(session[1]!, /^o=- \d+ 2 IN IP4 127\.0\.0\.1$/);
      assert.ok(session.includes('a=ice-lite'));
      assert.ok(session.includes('a=group:BUNDLE 0 1'));
      assert.ok(!session.includes('a=extmap-allow-mixed'));
      assert.ok(!session.some((l) => l.startsWith('a=msid-semantic')));

      const [audio, video] = sections(answer) as [string[], string[]];
      assert.equal(audio[0], 'm=audio 9 UDP/TLS/RTP/SAVPF 111');
      assert.equal(video[0], 'm=video 9 UDP/TLS/RTP/SAVPF 96');
      assert.ok(audio.includes('a=rtpmap:111 opus/48000/2'));
      assert.ok(audio.includes('a=fmtp:111 minptime=10;maxaveragebitrate=96000;stereo=1;sprop-stereo=1;useinbandfec=1'));
      assert.ok(video.includes('a=rtpmap:96 H264/90000'));
      assert.ok(video.includes('a=fmtp:96 profile-level-id=42e01f;packetization-mode=1;level-asymmetry-allowed=1'));
      assert.deepEqual(video.filter((l) => l.startsWith('a=rtcp-fb')), ['a=rtcp-fb:96 nack', 'a=rtcp-fb:96 nack pli', 'a=rtcp-fb:96 goog-remb']);
      for (const [s, mid] of [[audio, '0'], [video, '1']] as const) {
        assert.ok(s.includes(`a=mid:${mid}`));
        assert.ok(s.includes('a=setup:passive'));
        assert.ok(s.includes('a=recvonly'));
        assert.ok(s.includes('a=rtcp-mux'));
        assert.ok(s.includes('a=rtcp-mux-only'));
        assert.ok(s.includes(`a=ice-ufrag:${UFRAG}`), 'ufrag verbatim, / and + included');
        assert.ok(s.includes(`a=ice-pwd:${PWD}`));
        assert.equal(s.filter((l) => l.startsWith('a=fingerprint:sha-256 ')).length, 1);
        const candidates = s.filter((l) => l.startsWith('a=candidate:'));
        assert.deepEqual(candidates, [
          `a=candidate:1 1 udp ${hostCandidatePriority(0)} 127.0.0.1 8189 typ host`,
          `a=candidate:2 1 udp ${hostCandidatePriority(1)} 192.0.2.10 8189 typ host`,
          `a=candidate:3 1 udp ${hostCandidatePriority(2)} ::1 8189 typ host`,
        ]);
        assert.equal(s[s.length - 1], 'a=end-of-candidates');
        assert.ok(!s.includes('a=rtcp-rsize'), 'OBS does not offer rtcp-rsize');
      }
    });

    it('libdatachannel accepts the answer (setRemoteDescription)', function () {
      const { pc, offer, close } = obsPeer();
      try {
        const { answer } = publishAnswer(offer);
        assert.doesNotThrow(() => pc.setRemoteDescription(answer, 'answer'));
        const remote = pc.remoteDescription();
        assert.ok(remote, 'libdatachannel kept the answer');
        assert.equal(remote.type, 'answer');
      } finally {
        close();
      }
    });
  });

  describe('Chromium offer', function () {
    it('is accepted: first usable codec in offer order, extension ids preserved', function () {
      const { offer, media, answer } = publishAnswer(fixture('chromium.sdp'));
      assert.equal(offer.extmapAllowMixed, true);
      assert.equal(offer.candidates.length, 4, 'mDNS host candidates kept as written');
      assert.ok(offer.candidates.every((c) => c.ip.endsWith('.local') && c.protocol === 'udp'));
      const [audio, video] = media as [NegotiatedMedia, NegotiatedMedia];
      assert.equal(audio.codec.name, 'opus');
      assert.equal(audio.codec.payloadType, 111);
      // Chromium 156 lists VP8 first; the chosen codec is the first usable one of the m-line.
      const firstUsable = offer.media[1]!.codecs[0]!;
      assert.equal(video.codec, firstUsable);
      assert.ok(video.codec.name === 'VP8' || (video.codec.name === 'H264' && video.codec.fmtp['packetization-mode'] === '1'));
      assert.deepEqual(offer.media[1]!.rtxSsrcs.length, 1);
      assert.equal(offer.media[1]!.ssrcs.length, 1);
      assert.ok(!offer.media[1]!.ssrcs.includes(offer.media[1]!.rtxSsrcs[0]!));
      assert.deepEqual(
        offer.media[1]!.codecs.filter((c) => c.name === 'H264').map((c) => c.payloadType),
        [102, 108, 116],
        'only the packetization-mode=1 H264 entries are usable',
      );

      const session = sessionPart(answer);
      assert.ok(session.includes('a=extmap-allow-mixed'));
      const [as, vs] = sections(answer) as [string[], string[]];
      assert.deepEqual(as.filter((l) => l.startsWith('a=extmap:')), [
        'a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level',
        'a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time',
        'a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01',
        'a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid',
      ]);
      assert.deepEqual(vs.filter((l) => l.startsWith('a=extmap:')), [
        'a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time',
        'a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01',
        'a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid',
      ]);
      assert.equal(vs[0], `m=video 9 UDP/TLS/RTP/SAVPF ${video.codec.payloadType}`);
      assert.equal(vs.filter((l) => l.startsWith('a=rtpmap:')).length, 1, 'the chosen codec only');
      assert.ok(as.includes('a=rtcp-rsize') && vs.includes('a=rtcp-rsize'));
      assert.deepEqual(as.filter((l) => l.startsWith('a=rtcp-fb')), ['a=rtcp-fb:111 transport-cc']);
    });

    it('H264 first in the m-line: H264 chosen with its PT and every fmtp param', function () {
      const sdp = fixture('chromium.sdp').replace(
        /^m=video 9 UDP\/TLS\/RTP\/SAVPF 96 97 102 103 (.*)$/m,
        'm=video 9 UDP/TLS/RTP/SAVPF 104 107 102 103 96 97 $1',
      );
      assert.notEqual(sdp, fixture('chromium.sdp'));
      const { media, answer } = publishAnswer(sdp);
      // 104 is H264 packetization-mode=0: skipped; 102 is the first usable
      assert.equal(media[1]!.codec.name, 'H264');
      assert.equal(media[1]!.codec.payloadType, 102);
      const vs = sections(answer)[1]!;
      assert.equal(vs[0], 'm=video 9 UDP/TLS/RTP/SAVPF 102');
      assert.ok(vs.includes('a=rtpmap:102 H264/90000'));
      assert.ok(vs.includes('a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f'));
      assert.deepEqual(vs.filter((l) => l.startsWith('a=rtcp-fb')), [
        'a=rtcp-fb:102 goog-remb',
        'a=rtcp-fb:102 transport-cc',
        'a=rtcp-fb:102 ccm fir',
        'a=rtcp-fb:102 nack',
        'a=rtcp-fb:102 nack pli',
      ]);
    });

    it('Chromium accepts the publish answer (setRemoteDescription resolves)', async function () {
      const p = await chromiumPage();
      const offerSdp = await p.evaluate(async () => {
        const pc = new RTCPeerConnection();
        (window as unknown as { pub: RTCPeerConnection }).pub = pc;
        pc.addTransceiver('audio', { direction: 'sendonly' });
        pc.addTransceiver('video', { direction: 'sendonly' });
        await pc.setLocalDescription(await pc.createOffer());
        return pc.localDescription!.sdp;
      });
      const { answer } = publishAnswer(offerSdp);
      const result = await p.evaluate(async (sdp) => {
        const pc = (window as unknown as { pub: RTCPeerConnection }).pub;
        try {
          await pc.setRemoteDescription({ type: 'answer', sdp });
          const dirs = pc.getTransceivers().map((t) => t.currentDirection);
          pc.close();
          return { ok: true, dirs };
        } catch (err) {
          pc.close();
          return { ok: false, error: String(err) };
        }
      }, answer);
      assert.deepEqual(result, { ok: true, dirs: ['sendonly', 'sendonly'] });
    });

    it('Chromium recvonly offer: play role parses; a sendonly play answer is accepted by Chromium', async function () {
      const fixed = parseOffer(fixture('chromium-recvonly.sdp'), 'play');
      assert.deepEqual(fixed.media.map((m) => m.direction), ['recvonly', 'recvonly']);
      assert.deepEqual(fixed.media.map((m) => m.ssrcs), [[], []]);

      const p = await chromiumPage();
      const offerSdp = await p.evaluate(async () => {
        const pc = new RTCPeerConnection();
        (window as unknown as { play: RTCPeerConnection }).play = pc;
        pc.addTransceiver('audio', { direction: 'recvonly' });
        pc.addTransceiver('video', { direction: 'recvonly' });
        await pc.setLocalDescription(await pc.createOffer());
        return pc.localDescription!.sdp;
      });
      const offer = parseOffer(offerSdp, 'play');
      // The later publisher-matching step is not built yet: take each section's first usable codec.
      const media: NegotiatedMedia[] = offer.media.map((m) => ({
        mid: m.mid,
        kind: m.kind,
        codec: m.codecs[0]!,
        extensions: m.extensions.filter((e) => e.uri === 'urn:ietf:params:rtp-hdrext:sdes:mid'),
        rtcpFeedback: m.codecs[0]!.rtcpFeedback.filter((f) => f === 'nack' || f === 'nack pli'),
        ssrcs: [],
      }));
      const sendSsrcs = new Map(
        offer.media.map((m, i) => [m.mid, { ssrc: 1000 + i, cname: 'onecast', msid: 'room1', trackId: `room1-${m.kind}` }] as const),
      );
      const answer = answerFor(offer, media, 'play', { sendSsrcs });
      assert.ok(sessionPart(answer).includes('a=msid-semantic: WMS *'));
      const [as] = sections(answer) as [string[]];
      assert.ok(as.includes('a=sendonly'));
      assert.ok(as.includes('a=msid:room1 room1-audio'));
      assert.ok(as.includes('a=ssrc:1000 cname:onecast'));
      assert.ok(as.includes('a=ssrc:1000 msid:room1 room1-audio'));

      const result = await p.evaluate(async (sdp) => {
        const pc = (window as unknown as { play: RTCPeerConnection }).play;
        const streams: string[] = [];
        pc.ontrack = (e) => streams.push(e.streams.map((s) => s.id).join(','));
        try {
          await pc.setRemoteDescription({ type: 'answer', sdp });
          const dirs = pc.getTransceivers().map((t) => t.currentDirection);
          pc.close();
          return { ok: true, dirs, streams };
        } catch (err) {
          pc.close();
          return { ok: false, error: String(err) };
        }
      }, answer);
      assert.deepEqual(result, { ok: true, dirs: ['recvonly', 'recvonly'], streams: ['room1', 'room1'] });
    });
  });

  describe('GStreamer (webrtcbin) offer', function () {
    it('treats the port-0 bundle-only video section as live', function () {
      const { offer, media, answer } = publishAnswer(fixture('gstreamer.sdp'));
      const video = offer.media[1]!;
      assert.equal(video.port, 0);
      assert.equal(video.bundleOnly, true);
      assert.equal(video.disabled, false);
      assert.deepEqual(offer.bundleMids, ['audio0', 'video1']);
      assert.deepEqual(media.map((m) => `${m.mid} ${m.codec.name} ${m.codec.payloadType}`), ['audio0 opus 96', 'video1 H264 97']);
      assert.equal(media[1]!.codec.fmtp['profile-level-id'], '42c01f');
      assert.equal(offer.iceUfrag, 'Xk3vJq9fMZ2pT7rYb1LcW8nD5hG0sAeQ');

      assert.ok(sessionPart(answer).includes('a=group:BUNDLE audio0 video1'));
      const [as, vs] = sections(answer) as [string[], string[]];
      assert.equal(as[0], 'm=audio 9 UDP/TLS/RTP/SAVPF 96');
      assert.ok(as.includes('a=rtpmap:96 opus/48000/2'), 'OPUS written as opus/48000/2');
      assert.equal(vs[0], 'm=video 9 UDP/TLS/RTP/SAVPF 97', 'answered live on port 9');
      assert.ok(vs.includes('a=fmtp:97 packetization-mode=1;profile-level-id=42c01f;level-asymmetry-allowed=1'));
      assert.ok(vs.some((l) => l.startsWith('a=candidate:')));
      assert.ok(!vs.includes('a=bundle-only'));
    });
  });

  describe('bad offers', function () {
    it('garbage text → 400', function () {
      rejection('hello, this is not an SDP offer', 'publish', 400);
      rejection('', 'publish', 400);
      rejection('{"type":"offer","sdp":"v=0"}', 'publish', 400);
    });

    it('SDP without m= lines → 400', function () {
      assert.match(rejection('v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n', 'publish', 400), /no media sections/);
    });

    it('no ICE credentials → 400', function () {
      const sdp = fixture('obs.sdp').replace(/^a=ice-(ufrag|pwd):.*\r\n/gm, '');
      assert.match(rejection(sdp, 'publish', 400), /ice-ufrag/);
    });

    it('no fingerprint → 400', function () {
      const sdp = fixture('obs.sdp').replace(/^a=fingerprint:.*\r\n/gm, '');
      assert.match(rejection(sdp, 'publish', 400), /fingerprint/);
    });

    it('malformed lines → 400 with the line, never a werift TypeError', function () {
      const obs = fixture('obs.sdp');
      assert.match(rejection(obs.replace('a=rtpmap:111 opus/48000/2', 'a=rtpmap'), 'publish', 400), /Line \d+ .*a=rtpmap/);
      assert.match(rejection(obs.replace('a=rtcp-fb:96 nack\r\n', 'a=rtcp-fb\r\n'), 'publish', 400), /a=rtcp-fb/);
      assert.match(rejection(obs.replace('c=IN IP4 192.0.2.2', 'c=IN IP4'), 'publish', 400), /c= line/);
      assert.match(rejection(obs.replace('m=audio 46461 UDP/TLS/RTP/SAVPF 111', 'm=audio x UDP/TLS/RTP/SAVPF 111'), 'publish', 400), /m= line/);
      assert.match(rejection(obs.replace('a=mid:0', 'this is not sdp'), 'publish', 400), /not an SDP line/);
      assert.match(rejection(obs.replace('a=mid:1', 'a=mid:0'), 'publish', 400), /a=mid:0 for two/);
    });

    it('no BUNDLE → 422', function () {
      const sdp = fixture('chromium.sdp').replace(/^a=group:BUNDLE .*\r\n/m, '');
      assert.match(rejection(sdp, 'publish', 422), /BUNDLE/);
      const partial = fixture('chromium.sdp').replace('a=group:BUNDLE 0 1', 'a=group:BUNDLE 0');
      assert.match(rejection(partial, 'publish', 422), /not in the BUNDLE group/);
    });

    it('recvonly publish → 422', function () {
      assert.match(rejection(fixture('chromium-recvonly.sdp'), 'publish', 422), /recvonly; a WHIP publisher must offer sendonly/);
      const inactive = fixture('obs.sdp').replace('a=sendonly\r\na=ssrc:305419897', 'a=inactive\r\na=ssrc:305419897');
      assert.match(rejection(inactive, 'publish', 422), /video section \(mid 1\) is inactive/);
    });

    it('sendonly play → 422', function () {
      assert.match(rejection(fixture('chromium.sdp'), 'play', 422), /sendonly; a WHEP player must offer recvonly/);
    });

    it('two video sections → 422', function () {
      const sdp = offerWith([OPUS_SECTION, videoSection('1', '96', H264_PM1), videoSection('2', '96', H264_PM1)], 'a=group:BUNDLE 0 1 2');
      assert.match(rejection(sdp, 'publish', 422), /2 video sections/);
    });

    it('only VP9/AV1 video → 422 naming them', function () {
      const sdp = offerWith([
        OPUS_SECTION,
        videoSection('1', '98 99 45 46', [
          'a=rtpmap:98 VP9/90000',
          'a=fmtp:98 profile-id=0',
          'a=rtpmap:99 rtx/90000',
          'a=fmtp:99 apt=98',
          'a=rtpmap:45 AV1/90000',
          'a=rtpmap:46 rtx/90000',
          'a=fmtp:46 apt=45',
        ]),
      ]);
      const message = rejection(sdp, 'publish', 422);
      assert.equal(message, 'The video section offers VP9, AV1; onecast accepts H264 (packetization-mode=1), VP8.');
    });

    it('H264 with packetization-mode=0 only → 422', function () {
      const sdp = offerWith([
        OPUS_SECTION,
        videoSection('1', '96 97', [
          'a=rtpmap:96 H264/90000',
          'a=fmtp:96 profile-level-id=42e01f;packetization-mode=0',
          'a=rtpmap:97 H264/90000',
          'a=fmtp:97 profile-level-id=42e01f',
        ]),
      ]);
      assert.equal(
        rejection(sdp, 'publish', 422),
        'The video section offers H264 (packetization-mode=0 only); onecast accepts H264 (packetization-mode=1), VP8.',
      );
    });

    it('audio without opus → 422 naming what was offered', function () {
      const sdp = offerWith([
        OPUS_SECTION.replace('a=rtpmap:111 opus/48000/2', 'a=rtpmap:111 G722/8000').replace(/a=fmtp:111 .*/, '').replace('SAVPF 111', 'SAVPF 111 0 8'),
        videoSection('1', '96', H264_PM1),
      ]);
      assert.equal(rejection(sdp, 'publish', 422), 'The audio section offers G722, PCMU, PCMA; onecast accepts opus.');
    });

    it('data channel → 422', function () {
      const sdp =
        fixture('chromium.sdp').replace('a=group:BUNDLE 0 1', 'a=group:BUNDLE 0 1 2') +
        'm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\na=mid:2\r\na=sctp-port:5000\r\na=max-message-size:262144\r\n';
      assert.match(rejection(sdp, 'publish', 422), /data channel/);
    });

    it('a=setup:passive → 422', function () {
      const sdp = fixture('obs.sdp').replace(/a=setup:actpass/g, 'a=setup:passive');
      assert.match(rejection(sdp, 'publish', 422), /setup:passive; onecast is always the DTLS server/);
    });

    it('no rtcp-mux → 422', function () {
      const sdp = fixture('obs.sdp').replace(/^a=rtcp-mux\r\n/gm, '');
      assert.match(rejection(sdp, 'publish', 422), /rtcp-mux/);
    });
  });

  describe('edge cases', function () {
    it('a section the offerer disabled (port 0, no bundle-only) is mirrored with port 0', function () {
      const disabled = videoSection('2', '98', ['a=rtpmap:98 VP9/90000']).replace('m=video 9', 'm=video 0');
      const sdp = offerWith([OPUS_SECTION, videoSection('1', '96', H264_PM1), disabled]);
      const { offer, media, answer } = publishAnswer(sdp);
      assert.equal(offer.media[2]!.disabled, true);
      assert.deepEqual(media.map((m) => m.mid), ['0', '1']);
      assert.ok(sessionPart(answer).includes('a=group:BUNDLE 0 1'));
      const third = sections(answer)[2]!;
      assert.deepEqual(third, ['m=video 0 UDP/TLS/RTP/SAVPF 98', 'c=IN IP4 0.0.0.0', 'a=mid:2']);
    });

    it('session-level ICE/DTLS attributes, LF line endings, fmtp without rtpmap', function () {
      const sdp = offerWith([
        OPUS_SECTION + '\r\na=fmtp:101 0-15',
        videoSection('1', '96', H264_PM1, ['a=extmap:3/sendonly urn:ietf:params:rtp-hdrext:sdes:mid']),
      ]).replace(/\r\n/g, '\n');
      const offer = parseOffer(sdp, 'publish');
      assert.equal(offer.iceUfrag, 'abcd');
      assert.equal(offer.icePwd, 'abcdefghijklmnopqrstuvwx');
      assert.equal(offer.fingerprints[0]!.algorithm, 'sha-256');
      assert.deepEqual(offer.media[1]!.extensions, [{ id: 3, uri: 'urn:ietf:params:rtp-hdrext:sdes:mid' }]);
      assert.deepEqual(offer.candidates, []);
    });

    it('media-level ICE credentials of the first bundled section win over session level', function () {
      const sdp = offerWith([OPUS_SECTION + '\r\na=ice-ufrag:media\r\na=ice-pwd:mediapasswordmediapassword', videoSection('1', '96', H264_PM1)]);
      const offer = parseOffer(sdp, 'publish');
      assert.equal(offer.iceUfrag, 'media');
      assert.equal(offer.icePwd, 'mediapasswordmediapassword');
    });

    it('negotiate() is for the publish role only', function () {
      const offer = parseOffer(fixture('chromium-recvonly.sdp'), 'play');
      assert.throws(() => negotiate(offer, 'play'), /publish role/);
    });

    it('parseFmtp keeps values verbatim and lower-cases keys', function () {
      assert.deepEqual(parseFmtp('Profile-Level-Id=42E01F; packetization-mode=1;flag'), {
        'profile-level-id': '42E01F',
        'packetization-mode': '1',
        flag: '',
      });
    });

    it('host candidate priority follows RFC 8445 (type 126, local preference descending, component 1)', function () {
      assert.equal(hostCandidatePriority(0), 126 * 2 ** 24 + 65535 * 2 ** 8 + 255);
      assert.equal(hostCandidatePriority(1), 126 * 2 ** 24 + 65534 * 2 ** 8 + 255);
      const answer = buildAnswer({
        offer: parseOffer(fixture('obs.sdp'), 'publish'),
        role: 'publish',
        media: negotiate(parseOffer(fixture('obs.sdp'), 'publish'), 'publish'),
        iceUfrag: UFRAG,
        icePwd: PWD,
        fingerprint: randomFingerprint(),
        candidates: [{ ip: '[2001:db8::1]', port: 8189 }],
      });
      assert.ok(answer.includes(`a=candidate:1 1 udp ${hostCandidatePriority(0)} 2001:db8::1 8189 typ host\r\n`));
    });
  });

  describe('h264', function () {
    it('parses profile-level-id', function () {
      assert.deepEqual(parseProfileLevelId('42e01f'), { profileIdc: 0x42, profileIop: 0xe0, levelIdc: 31, profile: 'constrained-baseline', level: '3.1' });
      // 640c1f has constraint_set4+5 set: RFC 6184 / libwebrtc call that Constrained High (a High profile)
      const high = parseProfileLevelId('640c1f')!;
      assert.equal(high.profileIdc, 100);
      assert.equal(high.profile, 'constrained-high');
      assert.equal(high.level, '3.1');
      assert.equal(parseProfileLevelId('64001f')!.profile, 'high');
      assert.equal(parseProfileLevelId('4d001f')!.profile, 'main');
      assert.equal(parseProfileLevelId('4d001f')!.level, '3.1');
      assert.equal(parseProfileLevelId('42001f')!.profile, 'baseline');
      assert.equal(parseProfileLevelId('42c01f')!.profile, 'constrained-baseline');
      assert.equal(parseProfileLevelId('640032')!.level, '5');
      assert.equal(parseProfileLevelId('42f00b')!.level, '1b');
      assert.equal(parseProfileLevelId('f4001f')!.profile, 'high-444');
      assert.equal(parseProfileLevelId('42e0'), undefined);
      assert.equal(parseProfileLevelId('zzzzzz'), undefined);
      assert.equal(parseProfileLevelId(undefined), undefined);
      assert.equal(describeProfileLevelId('42e01f'), 'constrained-baseline 3.1');
    });

    it('packetization-mode: missing means 0, only 1 is usable', function () {
      assert.equal(packetizationMode({}), 0);
      assert.equal(packetizationMode({ 'packetization-mode': '1' }), 1);
      assert.equal(isUsableH264({ 'profile-level-id': '42e01f' }), false);
      assert.equal(isUsableH264({ 'packetization-mode': '0' }), false);
      assert.equal(isUsableH264({ 'packetization-mode': '1' }), true);
      assert.equal(isUsableH264({ 'packetization-mode': '2' }), false);
    });
  });

  describe('play (WHEP) negotiation', function () {
    /** The OBS publisher's tracks: obs.sdp through parseOffer + negotiate (publish). */
    const obsSources = (): SourceTrack[] => sourceTracks(negotiate(parseOffer(fixture('obs.sdp'), 'publish'), 'publish'));
    const chromiumSources = (): SourceTrack[] => sourceTracks(negotiate(parseOffer(fixture('chromium.sdp'), 'publish'), 'publish'));
    const OPUS_SOURCE: SourceTrack = obsSources().find((s) => s.kind === 'audio')!;

    function h264Source(profileLevelId: string, extra: Record<string, string> = {}): SourceTrack {
      const codec: Codec = {
        payloadType: 96,
        name: 'H264',
        clockRate: 90000,
        fmtp: { 'profile-level-id': profileLevelId, 'packetization-mode': '1', 'level-asymmetry-allowed': '1', ...extra },
        rtcpFeedback: ['nack', 'nack pli'],
      };
      return { kind: 'video', codec };
    }

    function sendSsrcsFor(media: PlayMedia[]): Map<string, { ssrc: number; cname: string; msid: string; trackId: string }> {
      return new Map(
        media.map((m, i) => [m.mid, { ssrc: 0x10000 + i, cname: 'onecast', msid: 'room1', trackId: `room1-${m.kind}` }] as const),
      );
    }

    function playAnswer(sdp: string, sources: SourceTrack[]): { offer: ParsedOffer; media: PlayMedia[]; answer: string } {
      const offer = parseOffer(sdp, 'play');
      const media = negotiatePlay(offer, sources);
      return { offer, media, answer: answerFor(offer, media, 'play', { sendSsrcs: sendSsrcsFor(media) }) };
    }

    /** parseOffer(play) + negotiatePlay must throw an unacceptable (422) OfferError; returns its message. */
    function playRejection(sdp: string, sources: SourceTrack[]): string {
      let caught: unknown;
      try {
        negotiatePlay(parseOffer(sdp, 'play'), sources);
      } catch (err) {
        caught = err;
      }
      assert.ok(caught instanceof OfferError, `expected an OfferError, got ${String(caught)}`);
      assert.equal(caught.kind, 'unacceptable', caught.message);
      assert.match(caught.message, /^[A-Z].*\.$/, 'one sentence');
      assert.ok(!/undefined|TypeError|Cannot read/.test(caught.message), caught.message);
      return caught.message;
    }

    /** The SDP with its `kind` section reduced to the payload types `pts` (m-line and attribute lines). */
    function keepPayloadTypes(sdp: string, kind: 'audio' | 'video', pts: number[]): string {
      let current = '';
      const out: string[] = [];
      for (const line of sdp.split('\r\n')) {
        const m = /^m=(\w+) (\d+) (\S+) /.exec(line);
        if (m) {
          current = m[1]!;
          out.push(current === kind ? `m=${m[1]} ${m[2]} ${m[3]} ${pts.join(' ')}` : line);
          continue;
        }
        const attr = /^a=(rtpmap|fmtp|rtcp-fb):(\d+) /.exec(line);
        if (current === kind && attr && !pts.includes(Number(attr[2]))) continue;
        out.push(line);
      }
      const result = out.join('\r\n');
      assert.notEqual(result, sdp);
      return result;
    }

    /** The SDP without its `kind` section (and its mid out of the BUNDLE group). */
    function dropSection(sdp: string, kind: 'audio' | 'video'): string {
      const lines = sdp.split('\r\n');
      const start = lines.findIndex((l) => l.startsWith(`m=${kind} `));
      assert.ok(start >= 0);
      let end = lines.findIndex((l, i) => i > start && l.startsWith('m='));
      if (end < 0) end = lines.length - 1; // keep the final '' (trailing CRLF)
      const mid = lines.slice(start, end).find((l) => l.startsWith('a=mid:'))!.slice('a=mid:'.length);
      const rest = [...lines.slice(0, start), ...lines.slice(end)];
      return rest
        .map((l) => (l.startsWith('a=group:BUNDLE ') ? l.split(' ').filter((x) => x !== mid).join(' ') : l))
        .join('\r\n');
    }

    /** A recvonly audio+video offer made by the Chromium page, kept there as window.viewer. */
    async function chromiumViewerOffer(p: Page, kinds: ('audio' | 'video')[] = ['audio', 'video']): Promise<string> {
      return p.evaluate(async (ks) => {
        const pc = new RTCPeerConnection();
        (window as unknown as { viewer: RTCPeerConnection }).viewer = pc;
        for (const k of ks) pc.addTransceiver(k, { direction: 'recvonly' });
        await pc.setLocalDescription(await pc.createOffer());
        return pc.localDescription!.sdp;
      }, kinds);
    }

    /** Applies the answer in the page; the transceivers' currentDirection and negotiated receive codecs. */
    async function chromiumApplies(p: Page, answer: string): Promise<{ ok: boolean; error?: string; dirs?: (string | null)[]; codecs?: string[][] }> {
      return p.evaluate(async (sdp) => {
        const pc = (window as unknown as { viewer: RTCPeerConnection }).viewer;
        try {
          await pc.setRemoteDescription({ type: 'answer', sdp });
          const dirs = pc.getTransceivers().map((t) => t.currentDirection);
          const codecs = pc.getTransceivers().map((t) => t.receiver.getParameters().codecs.map((c) => `${c.payloadType} ${c.mimeType} ${c.sdpFmtpLine ?? ''}`.trim()));
          return { ok: true, dirs, codecs };
        } catch (err) {
          return { ok: false, error: String(err) };
        } finally {
          pc.close();
        }
      }, answer);
    }

    describe('OBS publisher (H264 42e01f + opus)', function () {
      it('× Chromium recvonly fixture: H264 on a Chromium PT with profile 42e01f, pm=1; opus on 111', function () {
        const { media, answer } = playAnswer(fixture('chromium-recvonly.sdp'), obsSources());
        assert.deepEqual(media.map((m) => [m.mid, m.sourceKind, m.codec.name, m.codec.payloadType]), [
          ['0', 'audio', 'opus', 111],
          ['1', 'video', 'H264', 108],
        ]);
        const video = media[1]!;
        assert.deepEqual(video.codec.fmtp, { 'level-asymmetry-allowed': '1', 'packetization-mode': '1', 'profile-level-id': '42e01f' });
        assert.deepEqual(video.rtcpFeedback, ['ccm fir', 'nack', 'nack pli'], 'no goog-remb / transport-cc to viewers');
        assert.deepEqual(media[0]!.rtcpFeedback, [], 'Chromium offers only transport-cc for opus');
        assert.deepEqual(media[0]!.codec.fmtp, { minptime: '10', useinbandfec: '1' }, "the viewer's opus fmtp");
        for (const m of media) {
          assert.deepEqual(m.extensions, [
            { id: 2, uri: 'http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time' },
            { id: 4, uri: 'urn:ietf:params:rtp-hdrext:sdes:mid' },
          ]);
        }

        assert.ok(sessionPart(answer).includes('a=msid-semantic: WMS *'));
        assert.ok(sessionPart(answer).includes('a=group:BUNDLE 0 1'));
        const [as, vs] = sections(answer) as [string[], string[]];
        assert.equal(as[0], 'm=audio 9 UDP/TLS/RTP/SAVPF 111');
        assert.equal(vs[0], 'm=video 9 UDP/TLS/RTP/SAVPF 108');
        assert.ok(vs.includes('a=rtpmap:108 H264/90000'));
        assert.ok(vs.includes('a=fmtp:108 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f'));
        assert.deepEqual(vs.filter((l) => l.startsWith('a=rtcp-fb')), ['a=rtcp-fb:108 ccm fir', 'a=rtcp-fb:108 nack', 'a=rtcp-fb:108 nack pli']);
        assert.deepEqual(as.filter((l) => l.startsWith('a=rtcp-fb')), []);
        for (const [s, kind, ssrc] of [[as, 'audio', 0x10000], [vs, 'video', 0x10001]] as const) {
          assert.ok(s.includes('a=sendonly'));
          assert.ok(!s.includes('a=recvonly'));
          assert.ok(s.includes(`a=msid:room1 room1-${kind}`));
          assert.ok(s.includes(`a=ssrc:${ssrc} cname:onecast`));
          assert.ok(s.includes(`a=ssrc:${ssrc} msid:room1 room1-${kind}`));
          assert.deepEqual(s.filter((l) => l.startsWith('a=extmap:')), [
            'a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time',
            'a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid',
          ]);
        }
      });

      it('× live Chromium recvonly offer: Chromium accepts the answer, both transceivers recvonly, H264 42e01f', async function () {
        const p = await chromiumPage();
        const offerSdp = await chromiumViewerOffer(p);
        const { media, answer } = playAnswer(offerSdp, obsSources());
        const video = media.find((m) => m.kind === 'video')!;
        assert.equal(video.codec.name, 'H264');
        assert.equal(parseProfileLevelId(video.codec.fmtp['profile-level-id'])!.profile, 'constrained-baseline');
        assert.equal(video.codec.fmtp['packetization-mode'], '1');
        const result = await chromiumApplies(p, answer);
        assert.equal(result.error, undefined);
        assert.deepEqual(result.dirs, ['recvonly', 'recvonly']);
        const [audioCodecs, videoCodecs] = result.codecs!;
        assert.ok(audioCodecs!.some((c) => c.startsWith(`${media[0]!.codec.payloadType} audio/opus`)), JSON.stringify(audioCodecs));
        assert.ok(videoCodecs!.some((c) => c.startsWith(`${video.codec.payloadType} video/H264`)), JSON.stringify(videoCodecs));
      });

      it('× live Chromium, publisher without audio: the audio section is answered inactive, Chromium accepts it', async function () {
        const p = await chromiumPage();
        const offerSdp = await chromiumViewerOffer(p);
        const videoOnly = obsSources().filter((s) => s.kind === 'video');
        const { media, answer } = playAnswer(offerSdp, videoOnly);
        assert.deepEqual(media.map((m) => m.sourceKind), [undefined, 'video']);
        const [as, vs] = sections(answer) as [string[], string[]];
        assert.ok(as.includes('a=inactive'));
        assert.ok(!as.some((l) => l.startsWith('a=ssrc:') || l.startsWith('a=msid:')), 'nothing sent in an inactive section');
        assert.ok(as[0]!.startsWith('m=audio 9 '), 'inactive, not rejected (port 9)');
        assert.ok(vs.includes('a=sendonly'));
        assert.ok(sessionPart(answer).includes('a=group:BUNDLE 0 1'));
        const result = await chromiumApplies(p, answer);
        assert.equal(result.error, undefined);
        assert.deepEqual(result.dirs, ['inactive', 'recvonly']);
      });

      it('× libdatachannel viewer (fixture): H264 96, opus 111 with its fmtp', function () {
        const { media, answer } = playAnswer(fixture('libdatachannel-recvonly.sdp'), obsSources());
        assert.deepEqual(media.map((m) => `${m.mid} ${m.codec.name} ${m.codec.payloadType}`), ['0 opus 111', '1 H264 96']);
        assert.deepEqual(media[1]!.rtcpFeedback, ['nack', 'nack pli'], 'goog-remb dropped');
        const [as, vs] = sections(answer) as [string[], string[]];
        assert.ok(as.includes('a=fmtp:111 minptime=10;maxaveragebitrate=96000;stereo=1;sprop-stereo=1;useinbandfec=1'));
        assert.ok(vs.includes('a=fmtp:96 profile-level-id=42e01f;packetization-mode=1;level-asymmetry-allowed=1'));
        assert.ok(!sessionPart(answer).includes('a=extmap-allow-mixed'));
      });

      it('× live libdatachannel viewer: setRemoteDescription accepts the answer, a=ssrc for both mids', function () {
        const pc = new PeerConnection('viewer', { iceServers: [] });
        const a = new Audio('0', 'RecvOnly');
        a.addOpusCodec(111);
        const audioTrack = pc.addTrack(a);
        const v = new Video('1', 'RecvOnly');
        v.addH264Codec(96);
        const videoTrack = pc.addTrack(v);
        keepAlive.push(pc, audioTrack, videoTrack, a, v);
        try {
          pc.setLocalDescription();
          const local = pc.localDescription();
          assert.ok(local, 'libdatachannel made an offer');
          const { media, answer } = playAnswer(local.sdp, obsSources());
          assert.deepEqual(media.map((m) => `${m.mid} ${m.codec.name} ${m.codec.payloadType}`), ['0 opus 111', '1 H264 96']);
          const [as, vs] = sections(answer) as [string[], string[]];
          assert.ok(as.includes('a=ssrc:65536 cname:onecast') && as.includes('a=ssrc:65536 msid:room1 room1-audio'));
          assert.ok(vs.includes('a=ssrc:65537 cname:onecast') && vs.includes('a=ssrc:65537 msid:room1 room1-video'));
          assert.doesNotThrow(() => pc.setRemoteDescription(answer, 'answer'));
          const remote = pc.remoteDescription();
          assert.ok(remote, 'libdatachannel kept the answer');
          assert.equal(remote.type, 'answer');
          assert.match(remote.sdp, /a=ssrc:65537 /);
        } finally {
          audioTrack.close();
          videoTrack.close();
          pc.close();
        }
      });

      it('viewer offering only VP8 (and VP9/AV1) → 422 naming H264 and what the viewer accepts', function () {
        const vp8Only = keepPayloadTypes(fixture('chromium-recvonly.sdp'), 'video', [96, 97]);
        assert.equal(playRejection(vp8Only, obsSources()), "This room's video is H264 (profile 42e01f); your offer's video section accepts VP8.");
        const noH264 = keepPayloadTypes(fixture('chromium-recvonly.sdp'), 'video', [96, 97, 98, 99, 45, 46]);
        assert.equal(
          playRejection(noH264, obsSources()),
          "This room's video is H264 (profile 42e01f); your offer's video section accepts VP8, VP9, AV1.",
        );
      });

      it('viewer offering H264 with packetization-mode=0 only → 422', function () {
        const pm0 = keepPayloadTypes(fixture('chromium-recvonly.sdp'), 'video', [104, 114]);
        assert.equal(
          playRejection(pm0, obsSources()),
          "This room's video is H264 (profile 42e01f); your offer's video section accepts H264 (packetization-mode=0 only).",
        );
      });

      it('viewer audio section without opus → 422 naming opus', function () {
        const noOpus = keepPayloadTypes(fixture('chromium-recvonly.sdp'), 'audio', [9, 0, 8]);
        assert.equal(playRejection(noOpus, obsSources()), "This room's audio is opus; your offer's audio section accepts G722, PCMU, PCMA.");
      });

      it('viewer with only an audio section: only audio answered', function () {
        const audioOnly = dropSection(fixture('chromium-recvonly.sdp'), 'video');
        const { media, answer } = playAnswer(audioOnly, obsSources());
        assert.deepEqual(media.map((m) => `${m.mid} ${m.sourceKind} ${m.codec.name}`), ['0 audio opus']);
        assert.equal(sections(answer).length, 1);
        assert.ok(sessionPart(answer).includes('a=group:BUNDLE 0'));
        assert.ok(sections(answer)[0]!.includes('a=sendonly'));
      });

      it('viewer video-only offer while the publisher sends audio+video: fine, audio not sent', function () {
        const videoOnly = dropSection(fixture('chromium-recvonly.sdp'), 'audio');
        const { media, answer } = playAnswer(videoOnly, obsSources());
        assert.deepEqual(media.map((m) => `${m.mid} ${m.sourceKind} ${m.codec.name} ${m.codec.payloadType}`), ['1 video H264 108']);
        assert.ok(sessionPart(answer).includes('a=group:BUNDLE 1'));
        assert.equal(sections(answer).length, 1);
      });

      it('a sendrecv viewer section is answered sendonly', function () {
        const sendrecv = fixture('chromium-recvonly.sdp').replace(/^a=recvonly$/gm, 'a=sendrecv');
        const { answer } = playAnswer(sendrecv, obsSources());
        assert.deepEqual(sections(answer).map((s) => s.filter((l) => /^a=(sendonly|recvonly|sendrecv|inactive)$/.test(l))), [['a=sendonly'], ['a=sendonly']]);
      });
    });

    describe('Chromium VP8 publisher', function () {
      it('× Chromium recvonly fixture → VP8 on 96, opus on 111', function () {
        const sources = chromiumSources();
        assert.equal(sources.find((s) => s.kind === 'video')!.codec.name, 'VP8', 'chromium.sdp lists VP8 first');
        const { media, answer } = playAnswer(fixture('chromium-recvonly.sdp'), sources);
        assert.deepEqual(media.map((m) => `${m.mid} ${m.codec.name} ${m.codec.payloadType}`), ['0 opus 111', '1 VP8 96']);
        const vs = sections(answer)[1]!;
        assert.equal(vs[0], 'm=video 9 UDP/TLS/RTP/SAVPF 96');
        assert.ok(vs.includes('a=rtpmap:96 VP8/90000'));
        assert.ok(!vs.some((l) => l.startsWith('a=fmtp:')));
      });

      it('× live Chromium recvonly offer: accepted, VP8', async function () {
        const p = await chromiumPage();
        const { media, answer } = playAnswer(await chromiumViewerOffer(p), chromiumSources());
        assert.equal(media[1]!.codec.name, 'VP8');
        const result = await chromiumApplies(p, answer);
        assert.equal(result.error, undefined);
        assert.deepEqual(result.dirs, ['recvonly', 'recvonly']);
      });

      it('× a viewer offering only H264 (libdatachannel) → 422 naming VP8 and H264', function () {
        assert.equal(
          playRejection(fixture('libdatachannel-recvonly.sdp'), chromiumSources()),
          "This room's video is VP8; your offer's video section accepts H264 (profile 42e01f).",
        );
        const h264Only = keepPayloadTypes(fixture('chromium-recvonly.sdp'), 'video', [102, 103, 108, 109, 116, 117]);
        assert.equal(
          playRejection(h264Only, chromiumSources()),
          "This room's video is VP8; your offer's video section accepts H264 (profiles 42001f, 42e01f, 4d001f).",
        );
      });
    });

    describe('H.264 profiles', function () {
      const viewer = fixture('chromium-recvonly.sdp'); // H264 pm=1: 102 42001f, 108 42e01f, 116 4d001f, 41 f4001f

      const videoPt = (sdp: string, source: SourceTrack): number =>
        negotiatePlay(parseOffer(sdp, 'play'), [OPUS_SOURCE, source]).find((m) => m.kind === 'video')!.codec.payloadType;

      it('each publisher profile goes to the viewer entry of the same profile, whatever the level', function () {
        assert.equal(videoPt(viewer, h264Source('42e01f')), 108);
        assert.equal(videoPt(viewer, h264Source('42c01f')), 108, '42c0 is Constrained Baseline too');
        assert.equal(videoPt(viewer, h264Source('42e034')), 108, 'level 5.2 publisher, level 3.1 viewer with level-asymmetry-allowed');
        assert.equal(videoPt(viewer, h264Source('42001f')), 102);
        assert.equal(videoPt(viewer, h264Source('4d0028')), 116);
        assert.equal(videoPt(viewer, h264Source('f4001f')), 41);
      });

      it('Constrained Baseline publisher, viewer with Baseline only → the Baseline entry', function () {
        const baselineOnly = keepPayloadTypes(viewer, 'video', [102, 103]);
        assert.equal(videoPt(baselineOnly, h264Source('42e01f')), 102);
      });

      it('Baseline publisher, viewer with Constrained Baseline only → 422 (the fallback runs one way)', function () {
        const cbOnly = keepPayloadTypes(viewer, 'video', [108, 109]);
        assert.equal(
          playRejection(cbOnly, [OPUS_SOURCE, h264Source('42001f')]),
          "This room's video is H264 (profile 42001f); your offer's video section accepts H264 (profile 42e01f).",
        );
      });

      it('High / Constrained High publisher, viewer offering 42e01f only → 422 (profile mismatch)', function () {
        const cbOnly = keepPayloadTypes(viewer, 'video', [108, 109]);
        for (const id of ['640c1f', '64001f']) {
          assert.equal(
            playRejection(cbOnly, [OPUS_SOURCE, h264Source(id)]),
            `This room's video is H264 (profile ${id}); your offer's video section accepts H264 (profile 42e01f).`,
          );
        }
        // Chromium 156 here offers no High profile at all: a High publisher is refused to it too.
        assert.match(playRejection(viewer, [OPUS_SOURCE, h264Source('640c1f')]), /accepts VP8, VP9, H264 \(profiles 42001f, 42e01f, 4d001f, f4001f\), AV1\.$/);
      });

      it('Constrained Baseline publisher, viewer with Main only → 422 (no fallback beyond Baseline)', function () {
        const mainOnly = keepPayloadTypes(viewer, 'video', [116, 117]);
        assert.match(playRejection(mainOnly, [OPUS_SOURCE, h264Source('42e01f')]), /profile 42e01f\); your offer's video section accepts H264 \(profile 4d001f\)\.$/);
      });

      it('a Safari-like viewer (640c1f and 42e01f): High → 640c1f, Constrained Baseline → 42e01f', function () {
        const safari = offerWith(
          [
            OPUS_SECTION.replace('a=sendonly', 'a=recvonly'),
            videoSection(
              '1',
              '96 98',
              [
                'a=rtpmap:96 H264/90000',
                'a=rtcp-fb:96 nack',
                'a=rtcp-fb:96 nack pli',
                'a=rtcp-fb:96 ccm fir',
                'a=rtcp-fb:96 goog-remb',
                'a=fmtp:96 packetization-mode=1;profile-level-id=640c1f',
                'a=rtpmap:98 H264/90000',
                'a=rtcp-fb:98 nack',
                'a=fmtp:98 packetization-mode=1;profile-level-id=42e01f',
              ],
            ).replace('a=sendonly', 'a=recvonly'),
          ],
        );
        assert.equal(videoPt(safari, h264Source('640c1f')), 96);
        assert.equal(videoPt(safari, h264Source('42e01f')), 98);
        const media = negotiatePlay(parseOffer(safari, 'play'), [OPUS_SOURCE, h264Source('640c1f')]);
        assert.deepEqual(media[1]!.codec.fmtp, { 'packetization-mode': '1', 'profile-level-id': '640c1f' }, "the viewer's fmtp, nothing added");
        assert.deepEqual(media[1]!.rtcpFeedback, ['nack', 'nack pli', 'ccm fir']);
      });

      it('pickViewerCodec: same profile first, then an entry whose level fits, then the viewer order', function () {
        const entry = (pt: number, fmtp: Record<string, string>): Codec => ({ payloadType: pt, name: 'H264', clockRate: 90000, fmtp, rtcpFeedback: [] });
        const low = entry(100, { 'profile-level-id': '42e00a', 'packetization-mode': '1' }); // CB 1.0, no asymmetry
        const baseline = entry(101, { 'profile-level-id': '42001f', 'packetization-mode': '1' });
        const cb = entry(102, { 'profile-level-id': '42e01f', 'packetization-mode': '1' });
        const source = h264Source('42e01f').codec;
        assert.equal(pickViewerCodec(source, [baseline, low, cb]), cb, 'level 3.1 entry beats the level 1.0 one');
        assert.equal(pickViewerCodec(source, [baseline, low]), low, 'same profile beats the Baseline fallback even with a low level');
        assert.equal(pickViewerCodec(source, [baseline]), baseline);
        const pm0 = entry(103, { 'profile-level-id': '42e01f', 'packetization-mode': '0' });
        assert.equal(pickViewerCodec(source, [pm0]), undefined, 'packetization-mode must be equal');
        const noId = entry(104, { 'packetization-mode': '1' });
        assert.equal(pickViewerCodec(source, [noId]), noId, 'no profile-level-id: Constrained Baseline 3.1, as libwebrtc');
        const vp8: Codec = { payloadType: 96, name: 'VP8', clockRate: 90000, fmtp: {}, rtcpFeedback: [] };
        assert.equal(pickViewerCodec({ ...vp8, name: 'VP8' }, [cb, { ...vp8, payloadType: 120 }])!.payloadType, 120);
        assert.equal(pickViewerCodec(vp8, [cb]), undefined);
      });
    });

    describe('edge cases', function () {
      it('a viewer section of a kind the room lacks, with no codec onecast knows → 422', function () {
        const noOpus = keepPayloadTypes(fixture('chromium-recvonly.sdp'), 'audio', [0, 8]);
        const videoOnly = obsSources().filter((s) => s.kind === 'video');
        assert.match(playRejection(noOpus, videoOnly), /^This room sends video only, and your offer's audio section accepts PCMU, PCMA; onecast answers audio only with opus/);
      });

      it('audio-only viewer and a video-only room → 422: nothing to play', function () {
        const audioOnly = dropSection(fixture('chromium-recvonly.sdp'), 'video');
        const videoOnly = obsSources().filter((s) => s.kind === 'video');
        assert.equal(
          playRejection(audioOnly, videoOnly),
          'This room sends video only and your offer asks for audio only; add a recvonly video transceiver to the offer.',
        );
      });

      it('no source tracks → 422', function () {
        assert.match(playRejection(fixture('chromium-recvonly.sdp'), []), /no audio or video track/);
      });

      it('a section the viewer disabled gets no entry and is mirrored with port 0', function () {
        const sdp = fixture('chromium-recvonly.sdp').replace('m=audio 9 ', 'm=audio 0 ').replace('a=group:BUNDLE 0 1', 'a=group:BUNDLE 1');
        const { media, answer } = playAnswer(sdp, obsSources());
        assert.deepEqual(media.map((m) => m.mid), ['1']);
        assert.equal(sections(answer)[0]![0], 'm=audio 0 UDP/TLS/RTP/SAVPF 111');
      });

      it('buildAnswer in the play role needs sendSsrcs for every sending section', function () {
        const offer = parseOffer(fixture('chromium-recvonly.sdp'), 'play');
        const media = negotiatePlay(offer, obsSources());
        assert.throws(() => answerFor(offer, media, 'play'), /sendSsrcs for mid "0"/);
        const onlyAudio = new Map([...sendSsrcsFor(media)].filter(([mid]) => mid === '0'));
        assert.throws(() => answerFor(offer, media, 'play', { sendSsrcs: onlyAudio }), /sendSsrcs for mid "1"/);
        // an inactive section needs none
        const inactive = negotiatePlay(offer, obsSources().filter((s) => s.kind === 'video'));
        const videoSsrc = new Map([...sendSsrcsFor(inactive)].filter(([mid]) => mid === '1'));
        assert.doesNotThrow(() => answerFor(offer, inactive, 'play', { sendSsrcs: videoSsrc }));
      });

      it('the feedback and extension lists the play side answers', function () {
        assert.deepEqual([...PLAY_FEEDBACK], ['nack', 'nack pli', 'ccm fir']);
        assert.deepEqual([...PLAY_EXTENSIONS], ['urn:ietf:params:rtp-hdrext:sdes:mid', 'http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time']);
      });

      it('sourceTracks takes the first track of each kind from a publisher\'s NegotiatedMedia', function () {
        const sources = obsSources();
        assert.deepEqual(sources.map((s) => `${s.kind} ${s.codec.name} ${s.codec.payloadType}`), ['audio opus 111', 'video H264 96']);
      });
    });
  });

  describe('h264 profile compatibility (RFC 6184 §8.2.2, libwebrtc)', function () {
    const f = (id: string | undefined, pm = '1', lasym?: '1'): Record<string, string> => ({
      ...(id !== undefined ? { 'profile-level-id': id } : {}),
      'packetization-mode': pm,
      ...(lasym ? { 'level-asymmetry-allowed': lasym } : {}),
    });

    it('isSameH264Profile compares named profiles, not levels or raw flags', function () {
      assert.equal(isSameH264Profile(f('42e01f'), f('42e034')), true, 'level differs');
      assert.equal(isSameH264Profile(f('42e01f'), f('42c01f')), true, 'both Constrained Baseline');
      assert.equal(isSameH264Profile(f('42e01f'), f('4de01f')), true, '4de0: Main with constraint_set1 = Constrained Baseline');
      assert.equal(isSameH264Profile(f('42e01f'), f('42001f')), false, 'Constrained Baseline vs Baseline');
      assert.equal(isSameH264Profile(f('4d001f'), f('4d0032')), true);
      assert.equal(isSameH264Profile(f('64001f'), f('640c1f')), false, 'High vs Constrained High');
      assert.equal(isSameH264Profile(f('640c1f'), f('640c34')), true);
      assert.equal(isSameH264Profile(f(undefined), f('42e01f')), true, 'absent = 42e01f');
      assert.equal(isSameH264Profile(f('zzzzzz'), f('zzzzzz')), false, 'malformed never matches');
      assert.equal(isSameH264Profile(f('43001f'), f('43001f')), true, 'unknown profile: identical idc and flags');
      assert.equal(isSameH264Profile(f('43001f'), f('43e01f')), false);
    });

    it('h264Compatibility: packetization-mode, profile, Baseline fallback, level', function () {
      assert.deepEqual(h264Compatibility(f('42e01f'), f('42e01f')), { match: 'same-profile', levelOk: true });
      assert.deepEqual(h264Compatibility(f('42e01f'), f('42001f')), { match: 'baseline-fallback', levelOk: true });
      assert.equal(h264Compatibility(f('42001f'), f('42e01f')), undefined);
      assert.equal(h264Compatibility(f('42e01f'), f('4d001f')), undefined);
      assert.equal(h264Compatibility(f('640c1f'), f('42e01f')), undefined);
      assert.equal(h264Compatibility(f('64001f'), f('42e01f')), undefined);
      assert.equal(h264Compatibility(f('42e01f'), f('42e01f', '0')), undefined, 'packetization-mode differs');
      assert.deepEqual(h264Compatibility(f('42e01f'), f('42e00a')), { match: 'same-profile', levelOk: false });
      assert.deepEqual(h264Compatibility(f('42e01f'), f('42e00a', '1', '1')), { match: 'same-profile', levelOk: true });
      assert.deepEqual(h264Compatibility(f('42e00b'), f('42f00b')), { match: 'same-profile', levelOk: false }, '1b is below 1.1');
    });

    it('helpers: default profile-level-id, level-asymmetry-allowed', function () {
      assert.equal(DEFAULT_PROFILE_LEVEL_ID, '42e01f');
      assert.equal(h264ProfileLevelId({})!.profile, 'constrained-baseline');
      assert.equal(h264ProfileLevelId({ 'profile-level-id': 'xyz' }), undefined);
      assert.equal(levelAsymmetryAllowed({ 'level-asymmetry-allowed': '1' }), true);
      assert.equal(levelAsymmetryAllowed({ 'level-asymmetry-allowed': '0' }), false);
      assert.equal(levelAsymmetryAllowed({}), false);
    });
  });
});
