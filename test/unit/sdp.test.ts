// Unit tests of the SDP negotiation module (src/sdp/): parseOffer, negotiate, buildAnswer and the
// H.264 fmtp helpers, on real offers (test/fixtures/sdp/). The WHEP side is sdpPlay.test.ts; that
// the real stacks accept these answers is test/e2e/sdpInterop.test.ts.
//
// Fixtures: obs.sdp was produced by node-datachannel set up as OBS's WHIP output does
// (plugins/obs-webrtc/whip-output.cpp); chromium.sdp / chromium-recvonly.sdp by Chromium 156
// (sendonly / recvonly audio+video transceivers, gathering complete). gstreamer.sdp is HAND-WRITTEN
// after what GStreamer's webrtcbin emits with max-bundle (m=video 0 + a=bundle-only, ICE credentials
// and a=fingerprint in every section, OPUS in upper case, mids "audio0"/"video1").
// libdatachannel-recvonly.sdp: node-datachannel 0.33 as a WHEP player (Audio '0' RecvOnly opus 111,
// Video '1' RecvOnly H264 96).
import assert from 'node:assert/strict';
import { buildAnswer, hostCandidatePriority } from '../../src/sdp/answer';
import { describeProfileLevelId, isUsableH264, packetizationMode, parseProfileLevelId } from '../../src/sdp/h264';
import { parseFmtp } from '../../src/sdp/fmtp';
import { negotiate } from '../../src/sdp/negotiate';
import { parseOffer } from '../../src/sdp/offer';
import { OfferError } from '../../src/sdp/types';
import type { NegotiatedMedia, Role } from '../../src/sdp/types';
import { PWD, UFRAG, randomFingerprint, fixture, offerWith, OPUS_SECTION, publishAnswer, sections, sessionPart, videoSection } from '../support/sdpAnswers';

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

const H264_PM1 = ['a=rtpmap:96 H264/90000', 'a=rtcp-fb:96 nack pli', 'a=fmtp:96 profile-level-id=42e01f;packetization-mode=1'];

describe('sdp', function () {
  describe('OBS (libdatachannel) offer', function () {
    it('is accepted: ice-lite, passive, recvonly, BUNDLE 0 1, opus 111 and H264 96 pm=1', function () {
      const { offer, answer } = publishAnswer(fixture('obs.sdp'));
      assert.equal(offer.iceUfrag, 'I0GW');
      assert.equal(offer.setup, 'actpass');
      assert.equal(offer.extmapAllowMixed, false, 'OBS does not offer extmap-allow-mixed (werift says it does)');
      assert.deepEqual(
        offer.media.map((m) => m.ssrcs),
        [[305419896], [305419897]],
        'audio and video told apart by a=ssrc',
      );
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
      assert.deepEqual(
        video.filter((l) => l.startsWith('a=rtcp-fb')),
        ['a=rtcp-fb:96 nack', 'a=rtcp-fb:96 nack pli', 'a=rtcp-fb:96 goog-remb'],
      );
      for (const [s, mid] of [
        [audio, '0'],
        [video, '1'],
      ] as const) {
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
      assert.deepEqual(
        as.filter((l) => l.startsWith('a=extmap:')),
        [
          'a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level',
          'a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time',
          'a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01',
          'a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid',
        ],
      );
      assert.deepEqual(
        vs.filter((l) => l.startsWith('a=extmap:')),
        [
          'a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time',
          'a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01',
          'a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid',
        ],
      );
      assert.equal(vs[0], `m=video 9 UDP/TLS/RTP/SAVPF ${video.codec.payloadType}`);
      assert.equal(vs.filter((l) => l.startsWith('a=rtpmap:')).length, 1, 'the chosen codec only');
      assert.ok(as.includes('a=rtcp-rsize') && vs.includes('a=rtcp-rsize'));
      assert.deepEqual(
        as.filter((l) => l.startsWith('a=rtcp-fb')),
        ['a=rtcp-fb:111 transport-cc'],
      );
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
      assert.deepEqual(
        vs.filter((l) => l.startsWith('a=rtcp-fb')),
        ['a=rtcp-fb:102 goog-remb', 'a=rtcp-fb:102 transport-cc', 'a=rtcp-fb:102 ccm fir', 'a=rtcp-fb:102 nack', 'a=rtcp-fb:102 nack pli'],
      );
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
      assert.deepEqual(
        media.map((m) => `${m.mid} ${m.codec.name} ${m.codec.payloadType}`),
        ['audio0 opus 96', 'video1 H264 97'],
      );
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
        OPUS_SECTION.replace('a=rtpmap:111 opus/48000/2', 'a=rtpmap:111 G722/8000')
          .replace(/a=fmtp:111 .*/, '')
          .replace('SAVPF 111', 'SAVPF 111 0 8'),
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
      assert.deepEqual(
        media.map((m) => m.mid),
        ['0', '1'],
      );
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
});
