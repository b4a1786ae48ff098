// Unit tests of the WHEP side of SDP negotiation (src/sdp/play.ts): a viewer's offer answered
// for what the room's publisher sends, on real offers (test/fixtures/sdp/), and the H.264
// profile rules it uses.
import assert from 'node:assert/strict';
import type { MediaKind } from '../../src/rtp/mediaKind';
import { DEFAULT_PROFILE_LEVEL_ID, h264Compatibility, h264ProfileLevelId, isSameH264Profile, levelAsymmetryAllowed } from '../../src/sdp/h264';
import { parseOffer } from '../../src/sdp/offer';
import { PLAY_EXTENSIONS, PLAY_FEEDBACK, negotiatePlay, pickViewerCodec } from '../../src/sdp/play';
import { OfferError } from '../../src/sdp/types';
import type { Codec, SourceTrack } from '../../src/sdp/types';
import {
  answerFor,
  chromiumSources,
  fixture,
  obsSources,
  offerWith,
  OPUS_SECTION,
  playAnswer,
  sections,
  sendSsrcsFor,
  sessionPart,
  videoSection,
} from '../support/sdpAnswers';

describe('sdp', function () {
  describe('play (WHEP) negotiation', function () {
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
    function keepPayloadTypes(sdp: string, kind: MediaKind, pts: number[]): string {
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
    function dropSection(sdp: string, kind: MediaKind): string {
      const lines = sdp.split('\r\n');
      const start = lines.findIndex((l) => l.startsWith(`m=${kind} `));
      assert.ok(start >= 0);
      let end = lines.findIndex((l, i) => i > start && l.startsWith('m='));
      if (end < 0) end = lines.length - 1; // keep the final '' (trailing CRLF)
      const mid = lines
        .slice(start, end)
        .find((l) => l.startsWith('a=mid:'))!
        .slice('a=mid:'.length);
      const rest = [...lines.slice(0, start), ...lines.slice(end)];
      return rest
        .map((l) =>
          l.startsWith('a=group:BUNDLE ')
            ? l
                .split(' ')
                .filter((x) => x !== mid)
                .join(' ')
            : l,
        )
        .join('\r\n');
    }

    describe('OBS publisher (H264 42e01f + opus)', function () {
      it('× Chromium recvonly fixture: H264 on a Chromium PT with profile 42e01f, pm=1; opus on 111', function () {
        const { media, answer } = playAnswer(fixture('chromium-recvonly.sdp'), obsSources());
        assert.deepEqual(
          media.map((m) => [m.mid, m.sourceKind, m.codec.name, m.codec.payloadType]),
          [
            ['0', 'audio', 'opus', 111],
            ['1', 'video', 'H264', 108],
          ],
        );
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
        assert.deepEqual(
          vs.filter((l) => l.startsWith('a=rtcp-fb')),
          ['a=rtcp-fb:108 ccm fir', 'a=rtcp-fb:108 nack', 'a=rtcp-fb:108 nack pli'],
        );
        assert.deepEqual(
          as.filter((l) => l.startsWith('a=rtcp-fb')),
          [],
        );
        for (const [s, kind, ssrc] of [
          [as, 'audio', 0x10000],
          [vs, 'video', 0x10001],
        ] as const) {
          assert.ok(s.includes('a=sendonly'));
          assert.ok(!s.includes('a=recvonly'));
          assert.ok(s.includes(`a=msid:room1 room1-${kind}`));
          assert.ok(s.includes(`a=ssrc:${ssrc} cname:onecast`));
          assert.ok(s.includes(`a=ssrc:${ssrc} msid:room1 room1-${kind}`));
          assert.deepEqual(
            s.filter((l) => l.startsWith('a=extmap:')),
            ['a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time', 'a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid'],
          );
        }
      });

      it('× libdatachannel viewer (fixture): H264 96, opus 111 with its fmtp', function () {
        const { media, answer } = playAnswer(fixture('libdatachannel-recvonly.sdp'), obsSources());
        assert.deepEqual(
          media.map((m) => `${m.mid} ${m.codec.name} ${m.codec.payloadType}`),
          ['0 opus 111', '1 H264 96'],
        );
        assert.deepEqual(media[1]!.rtcpFeedback, ['nack', 'nack pli'], 'goog-remb dropped');
        const [as, vs] = sections(answer) as [string[], string[]];
        assert.ok(as.includes('a=fmtp:111 minptime=10;maxaveragebitrate=96000;stereo=1;sprop-stereo=1;useinbandfec=1'));
        assert.ok(vs.includes('a=fmtp:96 profile-level-id=42e01f;packetization-mode=1;level-asymmetry-allowed=1'));
        assert.ok(!sessionPart(answer).includes('a=extmap-allow-mixed'));
      });

      it('viewer offering only VP8 (and VP9/AV1) → 422 naming H264 and what the viewer accepts', function () {
        const vp8Only = keepPayloadTypes(fixture('chromium-recvonly.sdp'), 'video', [96, 97]);
        assert.equal(playRejection(vp8Only, obsSources()), "This room's video is H264 (profile 42e01f); your offer's video section accepts VP8.");
        const noH264 = keepPayloadTypes(fixture('chromium-recvonly.sdp'), 'video', [96, 97, 98, 99, 45, 46]);
        assert.equal(playRejection(noH264, obsSources()), "This room's video is H264 (profile 42e01f); your offer's video section accepts VP8, VP9, AV1.");
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
        assert.deepEqual(
          media.map((m) => `${m.mid} ${m.sourceKind} ${m.codec.name}`),
          ['0 audio opus'],
        );
        assert.equal(sections(answer).length, 1);
        assert.ok(sessionPart(answer).includes('a=group:BUNDLE 0'));
        assert.ok(sections(answer)[0]!.includes('a=sendonly'));
      });

      it('viewer video-only offer while the publisher sends audio+video: fine, audio not sent', function () {
        const videoOnly = dropSection(fixture('chromium-recvonly.sdp'), 'audio');
        const { media, answer } = playAnswer(videoOnly, obsSources());
        assert.deepEqual(
          media.map((m) => `${m.mid} ${m.sourceKind} ${m.codec.name} ${m.codec.payloadType}`),
          ['1 video H264 108'],
        );
        assert.ok(sessionPart(answer).includes('a=group:BUNDLE 1'));
        assert.equal(sections(answer).length, 1);
      });

      it('a sendrecv viewer section is answered sendonly', function () {
        const sendrecv = fixture('chromium-recvonly.sdp').replace(/^a=recvonly$/gm, 'a=sendrecv');
        const { answer } = playAnswer(sendrecv, obsSources());
        assert.deepEqual(
          sections(answer).map((s) => s.filter((l) => /^a=(sendonly|recvonly|sendrecv|inactive)$/.test(l))),
          [['a=sendonly'], ['a=sendonly']],
        );
      });
    });

    describe('Chromium VP8 publisher', function () {
      it('× Chromium recvonly fixture → VP8 on 96, opus on 111', function () {
        const sources = chromiumSources();
        assert.equal(sources.find((s) => s.kind === 'video')!.codec.name, 'VP8', 'chromium.sdp lists VP8 first');
        const { media, answer } = playAnswer(fixture('chromium-recvonly.sdp'), sources);
        assert.deepEqual(
          media.map((m) => `${m.mid} ${m.codec.name} ${m.codec.payloadType}`),
          ['0 opus 111', '1 VP8 96'],
        );
        const vs = sections(answer)[1]!;
        assert.equal(vs[0], 'm=video 9 UDP/TLS/RTP/SAVPF 96');
        assert.ok(vs.includes('a=rtpmap:96 VP8/90000'));
        assert.ok(!vs.some((l) => l.startsWith('a=fmtp:')));
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
        assert.match(
          playRejection(mainOnly, [OPUS_SOURCE, h264Source('42e01f')]),
          /profile 42e01f\); your offer's video section accepts H264 \(profile 4d001f\)\.$/,
        );
      });

      it('a Safari-like viewer (640c1f and 42e01f): High → 640c1f, Constrained Baseline → 42e01f', function () {
        const safari = offerWith([
          OPUS_SECTION.replace('a=sendonly', 'a=recvonly'),
          videoSection('1', '96 98', [
            'a=rtpmap:96 H264/90000',
            'a=rtcp-fb:96 nack',
            'a=rtcp-fb:96 nack pli',
            'a=rtcp-fb:96 ccm fir',
            'a=rtcp-fb:96 goog-remb',
            'a=fmtp:96 packetization-mode=1;profile-level-id=640c1f',
            'a=rtpmap:98 H264/90000',
            'a=rtcp-fb:98 nack',
            'a=fmtp:98 packetization-mode=1;profile-level-id=42e01f',
          ]).replace('a=sendonly', 'a=recvonly'),
        ]);
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
        assert.match(
          playRejection(noOpus, videoOnly),
          /^This room sends video only, and your offer's audio section accepts PCMU, PCMA; onecast answers audio only with opus/,
        );
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
        assert.deepEqual(
          media.map((m) => m.mid),
          ['1'],
        );
        assert.equal(sections(answer)[0]![0], 'm=audio 0 UDP/TLS/RTP/SAVPF 111');
      });

      it('buildAnswer in the play role needs sendSsrcs for every sending section', function () {
        const offer = parseOffer(fixture('chromium-recvonly.sdp'), 'play');
        const media = negotiatePlay(offer, obsSources());
        assert.throws(() => answerFor(offer, media, 'play'), /sendSsrcs for mid "0"/);
        const onlyAudio = new Map([...sendSsrcsFor(media)].filter(([mid]) => mid === '0'));
        assert.throws(() => answerFor(offer, media, 'play', { sendSsrcs: onlyAudio }), /sendSsrcs for mid "1"/);
        // an inactive section needs none
        const inactive = negotiatePlay(
          offer,
          obsSources().filter((s) => s.kind === 'video'),
        );
        const videoSsrc = new Map([...sendSsrcsFor(inactive)].filter(([mid]) => mid === '1'));
        assert.doesNotThrow(() => answerFor(offer, inactive, 'play', { sendSsrcs: videoSsrc }));
      });

      it('the feedback and extension lists the play side answers', function () {
        assert.deepEqual([...PLAY_FEEDBACK], ['nack', 'nack pli', 'ccm fir']);
        assert.deepEqual([...PLAY_EXTENSIONS], ['urn:ietf:params:rtp-hdrext:sdes:mid', 'http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time']);
      });

      it("sourceTracks takes the first track of each kind from a publisher's NegotiatedMedia", function () {
        const sources = obsSources();
        assert.deepEqual(
          sources.map((s) => `${s.kind} ${s.codec.name} ${s.codec.payloadType}`),
          ['audio opus 111', 'video H264 96'],
        );
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
