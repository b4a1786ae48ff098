// The relay's pure parts: the WHEP offer it makes is one onecast accepts, the answer an
// origin gives it becomes the edge room's publisher media (codec, SSRCs), and a WHEP POST
// that needs a relay is refused in the domain's terms when the directory or the upstream fails.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { MediaEngine } from '../../src/engine/engine';
import { signalingProblem } from '../../src/http/signalingProblems';
import { silentLogger } from '../../src/log';
import { relayedMedia, relayOffer } from '../../src/relay/relayMedia';
import { parseAnswer } from '../../src/relay/sdp';
import { buildAnswer } from '../../src/sdp/answer';
import { negotiate } from '../../src/sdp/negotiate';
import { parseOffer } from '../../src/sdp/offer';
import { negotiatePlay, sourceTracks } from '../../src/sdp/play';
import { jsFanout } from '../../src/sfu/jsFanout';
import { Sfu } from '../../src/sfu/sfu';
import { SignalingError, type SignalingFailure } from '../../src/signaling/errors';
import { SignalingService } from '../../src/signaling/service';
import { fixedUpstreams, type RelayOpener, type Upstream, type UpstreamDirectory } from '../../src/signaling/upstream';

const fixture = (name: string): string => readFileSync(path.join(__dirname, '..', 'fixtures', 'sdp', name), 'utf8');
const OBS_OFFER = fixture('obs.sdp');
const RECVONLY_OFFER = fixture('chromium-recvonly.sdp');
const FINGERPRINT = `sha-256 ${Array.from({ length: 32 }, () => 'AB').join(':')}`;
const NO_LIMITS = { maxPublishers: 0, maxViewers: 0, maxRoomViewers: 0, maxRelays: 0, maxSessions: 0, maxPending: 0, maxPendingPerAddress: 0 };
const UPSTREAM: Upstream = { url: 'http://192.0.2.7:8080/whep/show', token: 't', nodeId: 'origin-1' };

describe('relay', () => {
  it("offers what onecast's WHEP accepts, and reads the origin's answer as the publisher's media", () => {
    const publisherMedia = negotiate(parseOffer(OBS_OFFER, 'publish'), 'publish');
    const offer = parseOffer(relayOffer({ ufrag: 'abcd', pwd: '0123456789abcdef0123456789abcdef' }, FINGERPRINT), 'play');
    assert.deepEqual(
      offer.media.map((m) => [m.kind, m.direction, m.rtcpMux]),
      [
        ['audio', 'recvonly', true],
        ['video', 'recvonly', true],
      ],
    );
    assert.deepEqual(
      offer.media[1]!.codecs.map((c) => c.name),
      ['H264', 'H264', 'H264', 'H264', 'VP8'],
    );
    const media = negotiatePlay(offer, sourceTracks(publisherMedia));
    const sendSsrcs = new Map(media.map((m, i) => [m.mid, { ssrc: 1000 + i, cname: 'c', msid: 's', trackId: `t${i}` }]));
    const answer = buildAnswer({
      offer,
      role: 'play',
      media,
      iceUfrag: 'room/user',
      icePwd: 'pwd0123456789012345678',
      fingerprint: FINGERPRINT,
      candidates: [{ ip: '192.0.2.7', port: 8443 }],
      sendSsrcs,
    });
    const relayed = relayedMedia(parseAnswer(answer));
    assert.deepEqual(
      relayed.map((m) => [m.kind, m.codec.name, m.ssrcs]),
      [
        ['audio', 'opus', [1000]],
        ['video', 'H264', [1001]],
      ],
    );
    const video = relayed[1]!;
    assert.equal(video.codec.payloadType, media[1]!.codec.payloadType, "the payload type the origin's viewer forwarder writes");
    assert.ok(video.rtcpFeedback.includes('nack') && video.rtcpFeedback.includes('nack pli'), 'the relay NACKs and asks for keyframes upstream');
  });

  it('refuses an answer that sends nothing it can carry, and one that is far too long', () => {
    const answer = [
      'v=0',
      'a=ice-ufrag:u',
      'a=ice-pwd:p',
      `a=fingerprint:${FINGERPRINT}`,
      'm=video 9 UDP/TLS/RTP/SAVPF 35',
      'a=mid:0',
      'a=ssrc:5 cname:x',
      'a=candidate:1 1 udp 1 192.0.2.7 8443 typ host',
    ];
    assert.throws(() => relayedMedia(parseAnswer(answer.join('\r\n'))), /no audio or video/);
    assert.throws(() => parseAnswer('v=0\r\n' + 'a=x'.repeat(40_000)), /more than/);
  });

  describe('the WHEP POST that needs a relay', () => {
    let sfu: Sfu;
    let service: SignalingService;
    let ensured: string[];

    function start(upstreams: UpstreamDirectory, ensure: (room: string) => Promise<void>): void {
      sfu = new Sfu({ log: silentLogger, limits: NO_LIMITS, fanout: jsFanout });
      ensured = [];
      const running = new Map<string, { ready: Promise<void>; upstream: Upstream }>();
      const relays: RelayOpener = {
        // As relay/relays.ts does: one relay per room, whoever asks.
        ensure: (room, upstream) => {
          const existing = running.get(room);
          if (existing !== undefined) return existing.ready;
          ensured.push(room);
          const ready = ensure(room);
          running.set(room, { ready, upstream });
          return ready;
        },
        relaying: (room) => running.get(room),
      };
      service = new SignalingService(
        {} as MediaEngine,
        sfu,
        { published: () => {} },
        {
          log: silentLogger,
          publicIps: ['192.0.2.10'],
          udpPort: () => 8443,
          publishersAuthenticated: false,
          upstreams,
          relays,
        },
      );
    }

    afterEach(() => service.close());

    async function refusal(act: Promise<unknown>): Promise<SignalingFailure> {
      const error = await act.then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(error instanceof SignalingError, `expected a SignalingError, got ${String(error)}`);
      return error.failure;
    }

    it('opens one relay for the POSTs that arrive together, and none for a room published nowhere', async () => {
      start(fixedUpstreams({ show: UPSTREAM, show2: UPSTREAM }), () => new Promise((resolve) => setTimeout(resolve, 10)));
      await Promise.all([
        service.untilRelayed('show', RECVONLY_OFFER),
        service.untilRelayed('show', RECVONLY_OFFER),
        service.untilRelayed('show', RECVONLY_OFFER),
      ]);
      await service.untilRelayed('other', RECVONLY_OFFER);
      assert.equal((await refusal(service.untilRelayed('show2', 'v=0\r\n'))).reason, 'offer-malformed', 'a bad offer opens no relay');
      assert.deepEqual(ensured, ['show']);
    });

    it("is a 503 with Retry-After when the directory cannot be read, or the upstream's refusal", async () => {
      start({ upstreamOf: () => Promise.reject(new Error('ECONNREFUSED')) }, () => Promise.resolve());
      const directory = await refusal(service.untilRelayed('show', RECVONLY_OFFER));
      assert.equal(directory.reason, 'directory-unavailable');
      const problem = signalingProblem(directory);
      assert.equal(problem.status, 503);
      assert.ok(problem.headers?.['Retry-After'] !== undefined);
      service.close();

      start(fixedUpstreams({ show: UPSTREAM, gone: UPSTREAM }), (room) =>
        Promise.reject(Object.assign(new Error('refused'), { status: room === 'gone' ? 409 : 403 })),
      );
      const upstream = await refusal(service.untilRelayed('show', RECVONLY_OFFER));
      assert.equal(upstream.reason, 'upstream-unavailable');
      assert.match(signalingProblem(upstream).detail ?? '', /origin-1/);
      assert.equal(signalingProblem(upstream).status, 503);
      assert.equal((await refusal(service.untilRelayed('gone', RECVONLY_OFFER))).reason, 'nothing-published', "the upstream's 409: nothing is published there");
    });
  });
});
