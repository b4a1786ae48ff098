// The answers of src/sdp/ fed back to the real stacks, with offers they make live:
// libdatachannel (node-datachannel, OBS's WebRTC stack) and Debian's chromium (playwright-core).
// The same negotiation on the committed offers is test/unit/sdp.test.ts and sdpPlay.test.ts.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import nodeDataChannel, { Audio, PeerConnection, Video } from 'node-datachannel';
import { launchChromium } from '../support/browser';
import type { Browser, Page } from 'playwright-core';
import type { MediaKind } from '../../src/rtp/mediaKind';
import { parseProfileLevelId } from '../../src/sdp/h264';
import { parseOffer } from '../../src/sdp/offer';
import type { NegotiatedMedia } from '../../src/sdp/types';
import { answerFor, chromiumSources, fixture, obsSources, playAnswer, publishAnswer, sections, sessionPart } from '../support/sdpAnswers';

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

describe('sdp answers in the real stacks', function () {
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

  /** A recvonly audio+video offer made by the Chromium page, kept there as window.viewer. */
  async function chromiumViewerOffer(p: Page, kinds: MediaKind[] = ['audio', 'video']): Promise<string> {
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
        const codecs = pc
          .getTransceivers()
          .map((t) => t.receiver.getParameters().codecs.map((c) => `${c.payloadType} ${c.mimeType} ${c.sdpFmtpLine ?? ''}`.trim()));
        return { ok: true, dirs, codecs };
      } catch (err) {
        return { ok: false, error: String(err) };
      } finally {
        pc.close();
      }
    }, answer);
  }

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
    assert.deepEqual(
      fixed.media.map((m) => m.direction),
      ['recvonly', 'recvonly'],
    );
    assert.deepEqual(
      fixed.media.map((m) => m.ssrcs),
      [[], []],
    );

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
    const sendSsrcs = new Map(offer.media.map((m, i) => [m.mid, { ssrc: 1000 + i, cname: 'onecast', msid: 'room1', trackId: `room1-${m.kind}` }] as const));
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
    assert.ok(
      audioCodecs!.some((c) => c.startsWith(`${media[0]!.codec.payloadType} audio/opus`)),
      JSON.stringify(audioCodecs),
    );
    assert.ok(
      videoCodecs!.some((c) => c.startsWith(`${video.codec.payloadType} video/H264`)),
      JSON.stringify(videoCodecs),
    );
  });
  it('× live Chromium, publisher without audio: the audio section is answered inactive, Chromium accepts it', async function () {
    const p = await chromiumPage();
    const offerSdp = await chromiumViewerOffer(p);
    const videoOnly = obsSources().filter((s) => s.kind === 'video');
    const { media, answer } = playAnswer(offerSdp, videoOnly);
    assert.deepEqual(
      media.map((m) => m.sourceKind),
      [undefined, 'video'],
    );
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
      assert.deepEqual(
        media.map((m) => `${m.mid} ${m.codec.name} ${m.codec.payloadType}`),
        ['0 opus 111', '1 H264 96'],
      );
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
  it('× live Chromium recvonly offer: accepted, VP8', async function () {
    const p = await chromiumPage();
    const { media, answer } = playAnswer(await chromiumViewerOffer(p), chromiumSources());
    assert.equal(media[1]!.codec.name, 'VP8');
    const result = await chromiumApplies(p, answer);
    assert.equal(result.error, undefined);
    assert.deepEqual(result.dirs, ['recvonly', 'recvonly']);
  });
});
