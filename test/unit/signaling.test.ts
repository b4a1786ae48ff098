// The WHIP/WHEP use cases of src/signaling/service.ts without HTTP or sockets: an
// engine stand-in makes real sessions that send nothing. Each refusal is checked as
// the domain reason the service gives, and as the problem response http/ makes of it.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createCertificate, type Certificate } from '../../src/engine/dtls/certificate';
import type { MediaEngine } from '../../src/engine/engine';
import { Session } from '../../src/engine/session';
import { signalingProblem } from '../../src/http/signalingProblems';
import { silentLogger } from '../../src/log';
import type { Publisher } from '../../src/sfu/publisher';
import { Sfu } from '../../src/sfu/sfu';
import { jsFanout } from '../../src/sfu/jsFanout';
import { SignalingError, type SignalingFailure } from '../../src/signaling/errors';
import { SignalingService } from '../../src/signaling/service';
import type { UpstreamDirectory } from '../../src/signaling/upstream';

const fixture = (name: string) => readFileSync(path.join(__dirname, '..', 'fixtures', 'sdp', name), 'utf8');
const OBS_OFFER = fixture('obs.sdp');
const RECVONLY_OFFER = fixture('chromium-recvonly.sdp');
const NO_LIMITS = { maxPublishers: 0, maxViewers: 0, maxRoomViewers: 0, maxRelays: 0, maxSessions: 0, maxPending: 0, maxPendingPerAddress: 0 };

/** The refusal `act` throws. */
function refusal(act: () => unknown): SignalingFailure {
  try {
    act();
  } catch (error) {
    assert.ok(error instanceof SignalingError, `expected a SignalingError, got ${String(error)}`);
    return error.failure;
  }
  assert.fail('expected a refusal');
}

describe('signaling service', () => {
  let certificate: Certificate;
  let published: { room: string; publisher: Publisher; asked: boolean }[];
  let service: SignalingService;
  let sfu: Sfu;

  before(async () => {
    certificate = await createCertificate();
  });

  function start(limits = NO_LIMITS, upstreams?: UpstreamDirectory): void {
    const engine = {
      certificate,
      createSession: (request: { ufragPrefix: string; remoteUfrag: string | undefined; remoteFingerprints: [] }) =>
        new Session({ ...request, certificate, write: () => {} }),
      restartIce: (session: Session, remoteUfrag: string) => void session.restartIce(remoteUfrag),
    } as unknown as MediaEngine;
    published = [];
    sfu = new Sfu({ log: silentLogger, limits, fanout: jsFanout });
    service = new SignalingService(
      engine,
      sfu,
      { published: (room, publisher, asked) => published.push({ room, publisher, asked }) },
      {
        log: silentLogger,
        publicIps: ['192.0.2.10'],
        udpPort: () => 8443,
        publishersAuthenticated: false,
        upstreams,
      },
    );
  }

  afterEach(() => service.close());

  it('in a cluster, refuses a WHIP POST for a room another node publishes, and passes on a directory that cannot be read', async () => {
    const upstreams: Record<string, () => Promise<Awaited<ReturnType<UpstreamDirectory['upstreamOf']>>>> = {
      elsewhere: async () => ({ url: 'http://192.0.2.20:8080/whep/elsewhere', token: 't', nodeId: 'node-b' }),
      free: async () => undefined,
      unknown: () => Promise.reject(new SignalingError({ reason: 'directory-unavailable', retryAfterSeconds: 2 })),
    };
    start(NO_LIMITS, { upstreamOf: (room) => upstreams[room]!() });
    await service.refuseIfPublishedElsewhere('free');
    const failures = await Promise.all(
      ['elsewhere', 'unknown', 'bad name!'].map((room) =>
        service.refuseIfPublishedElsewhere(room).then(
          () => assert.fail(`${room} was not refused`),
          (error: unknown) => (error as SignalingError).failure,
        ),
      ),
    );
    assert.deepEqual(failures, [
      { reason: 'published-elsewhere', room: 'elsewhere', nodeId: 'node-b' },
      { reason: 'directory-unavailable', retryAfterSeconds: 2 },
      { reason: 'invalid-room-name' },
    ]);
  });

  it('publishes: a session in the room, an answer naming our candidate, an ETag, and the recording question handed on', () => {
    start();
    const { session, answer, etag } = service.publish('studio', OBS_OFFER, true, '192.0.2.1');
    assert.equal(sfu.rooms.get('studio')?.publisher?.session, session);
    assert.match(answer, /a=candidate:.* 192\.0\.2\.10 8443 typ host/);
    assert.match(etag, /^"[0-9a-f]{24}"$/);
    assert.deepEqual(
      published.map(({ room, asked }) => ({ room, asked })),
      [{ room: 'studio', asked: true }],
    );
    assert.equal(published[0]!.publisher, sfu.rooms.get('studio')?.publisher);
    assert.equal(service.session('publish', 'studio', session.id), session);
    assert.equal(service.sessionCount, 1);
  });

  it('refuses a bad room name, a malformed offer, a busy room, and a viewer of an empty room', () => {
    start();
    assert.deepEqual(
      refusal(() => service.publish('a/b', OBS_OFFER)),
      { reason: 'invalid-room-name' },
    );
    const malformed = refusal(() => service.publish('studio', 'hello'));
    assert.equal(malformed.reason, 'offer-malformed');
    assert.deepEqual(
      refusal(() => service.play('studio', RECVONLY_OFFER)),
      { reason: 'nothing-published', room: 'studio', retryAfterSeconds: 2 },
    );
    service.publish('studio', OBS_OFFER);
    // A publisher still connecting keeps the room for its first seconds.
    assert.deepEqual(
      refusal(() => service.publish('studio', OBS_OFFER)),
      { reason: 'room-busy', room: 'studio', idleSeconds: 2 },
    );
    assert.equal(service.sessionCount, 1, 'a refused request creates nothing');
  });

  it('plays a published room; a viewer offer onecast cannot accept is refused with its reason', () => {
    start();
    service.publish('studio', OBS_OFFER);
    const { session } = service.play('studio', RECVONLY_OFFER);
    assert.equal([...sfu.rooms.get('studio')!.viewers][0]?.session, session);
    const failure = refusal(() => service.play('studio', RECVONLY_OFFER.replaceAll('a=recvonly', 'a=sendonly')));
    assert.equal(failure.reason, 'offer-unacceptable');
    assert.match(failure.reason === 'offer-unacceptable' ? failure.detail : '', /^[A-Z].*\.$/, 'one sentence');
  });

  it('guards PATCH with the ETag: required, stale after an ICE restart, "*" always matches', () => {
    start();
    const { session, etag } = service.publish('studio', OBS_OFFER);
    const patch = (ifMatch: string | undefined, body = 'a=candidate:1 1 udp 1 192.0.2.1 5000 typ host') =>
      service.patch('publish', 'studio', session.id, body, ifMatch);
    assert.deepEqual(
      refusal(() => patch(undefined)),
      { reason: 'etag-required' },
    );
    assert.deepEqual(
      refusal(() => patch('"nope"')),
      { reason: 'stale-etag' },
    );
    assert.deepEqual(patch(etag), { restarted: false }, 'trickled candidates change nothing');
    assert.deepEqual(
      refusal(() => patch(etag, 'a=ice-ufrag:abcd')),
      { reason: 'incomplete-ice-restart' },
    );
    const before = session.localUfrag;
    const restart = patch('*', 'a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwxyz');
    assert.ok(restart.restarted);
    assert.notEqual(restart.etag, etag);
    assert.notEqual(session.localUfrag, before);
    assert.ok(restart.fragment.includes(`a=ice-ufrag:${session.localUfrag}`));
    assert.deepEqual(
      refusal(() => patch(etag)),
      { reason: 'stale-etag' },
      'the old ETag is stale now',
    );
    assert.deepEqual(patch(restart.etag), { restarted: false });
    assert.equal(refusal(() => patch(etag, 'not sdp')).reason, 'stale-etag', 'the precondition is checked before the body');
    assert.equal(refusal(() => patch('*', 'not sdp')).reason, 'offer-malformed');
  });

  it('finds a session only under its own kind and room, and forgets it once ended', () => {
    start();
    const { session } = service.publish('studio', OBS_OFFER);
    assert.deepEqual(
      refusal(() => service.session('play', 'studio', session.id)),
      { reason: 'no-such-session', kind: 'play', room: 'studio', sessionId: session.id },
    );
    assert.equal(refusal(() => service.end('publish', 'other', session.id)).reason, 'no-such-session');
    service.end('publish', 'studio', session.id);
    assert.equal(session.state, 'closed');
    assert.equal(service.sessionCount, 0);
    assert.equal(refusal(() => service.end('publish', 'studio', session.id)).reason, 'no-such-session');
  });

  it('refuses over a session limit, naming it and when to retry', () => {
    start({ ...NO_LIMITS, maxPublishers: 1 });
    service.publish('one', OBS_OFFER);
    assert.deepEqual(
      refusal(() => service.publish('two', OBS_OFFER)),
      {
        reason: 'over-limit',
        refusal: { limit: 'MAX_PUBLISHERS', max: 1, room: 'two', retryAfterSeconds: 10 },
      },
    );
  });

  it('ends every session on close and refuses new ones from then on', () => {
    start();
    const { session } = service.publish('studio', OBS_OFFER);
    service.close();
    assert.equal(session.state, 'closed');
    assert.equal(service.sessionCount, 0);
    assert.equal(sfu.rooms.size, 0);
    assert.deepEqual(
      refusal(() => service.publish('studio', OBS_OFFER)),
      { reason: 'shutting-down', retryAfterSeconds: 10 },
    );
  });
});

describe('signaling refusals as problem responses', () => {
  // Clients and the e2e tests read these: status, title, Retry-After and detail stay as they are.
  const cases: [SignalingFailure, number, string, string, string | undefined][] = [
    [{ reason: 'invalid-room-name' }, 400, 'Invalid room name', 'Room names are 1 to 64 characters of A-Z, a-z, 0-9, "_" and "-".', undefined],
    [{ reason: 'offer-malformed', detail: 'No m= line.' }, 400, 'Malformed SDP offer', 'No m= line.', undefined],
    [{ reason: 'offer-unacceptable', detail: 'No H264.' }, 422, 'Unacceptable SDP offer', 'No H264.', undefined],
    [
      { reason: 'room-busy', room: 'r', idleSeconds: 2 },
      409,
      'Room already has a publisher',
      'Room "r" already has a live publisher (media within the last 2 s); stop it (DELETE its session) or publish to another room.',
      undefined,
    ],
    [
      { reason: 'nothing-published', room: 'r', retryAfterSeconds: 2 },
      409,
      'Nothing published',
      'Room "r" has no publisher right now; try again when it goes live.',
      '2',
    ],
    [
      { reason: 'no-such-session', kind: 'play', room: 'r', sessionId: 'abc' },
      404,
      'No such session',
      'There is no WHEP session abc in room "r"; it may have ended already.',
      undefined,
    ],
    [
      { reason: 'no-such-session', kind: 'publish', room: 'r', sessionId: 'abc' },
      404,
      'No such session',
      'There is no WHIP session abc in room "r"; it may have ended already.',
      undefined,
    ],
    [
      { reason: 'etag-required' },
      428,
      'Precondition Required',
      'PATCH needs an If-Match header: the ETag from the POST (or from the last ICE restart), or "*" for an ICE restart.',
      undefined,
    ],
    [
      { reason: 'stale-etag' },
      412,
      'Precondition Failed',
      'If-Match does not name the session\'s current ETag; it changed (an ICE restart happened). Fetch it again or restart ICE with If-Match: "*".',
      undefined,
    ],
    [{ reason: 'incomplete-ice-restart' }, 400, 'Incomplete ICE restart', 'An ICE restart needs both a=ice-ufrag and a=ice-pwd.', undefined],
    [
      { reason: 'shutting-down', retryAfterSeconds: 10 },
      503,
      'Shutting down',
      'The server is shutting down and takes no new sessions; try again once it is back.',
      '10',
    ],
    [
      { reason: 'published-elsewhere', room: 'studio', nodeId: 'node-b' },
      409,
      'Room is published on another node',
      'Room "studio" already has a live publisher on node node-b of this cluster; stop it (DELETE its session there) or publish to another room.',
      undefined,
    ],
    [
      { reason: 'directory-unavailable', retryAfterSeconds: 2 },
      503,
      'Cluster directory unavailable',
      "This node cannot reach the cluster's directory (Redis) to learn where the room is published; rooms published here play on. Try again shortly.",
      '2',
    ],
    [
      { reason: 'over-limit', refusal: { limit: 'MAX_PUBLISHERS', max: 3, room: 'r', retryAfterSeconds: 10 } },
      503,
      'Publishers full',
      'The server already has 3 publishers, its MAX_PUBLISHERS limit; try again when one has ended.',
      '10',
    ],
    [
      { reason: 'over-limit', refusal: { limit: 'MAX_ROOM_VIEWERS', max: 2, room: 'r', retryAfterSeconds: 10 } },
      503,
      'Room full',
      'Room "r" already has 2 viewers, the MAX_ROOM_VIEWERS limit; try again when one has left.',
      '10',
    ],
    [
      { reason: 'over-limit', refusal: { limit: 'MAX_VIEWERS', max: 2, room: 'r', retryAfterSeconds: 10 } },
      503,
      'Viewers full',
      'The server already has 2 viewers, its MAX_VIEWERS limit; try again when one has left.',
      '10',
    ],
    [
      { reason: 'over-limit', refusal: { limit: 'MAX_SESSIONS', max: 2, room: 'r', retryAfterSeconds: 10 } },
      503,
      'Server full',
      'The server already has 2 sessions, its MAX_SESSIONS limit; try again when some have ended.',
      '10',
    ],
    [
      { reason: 'over-limit', refusal: { limit: 'MAX_PENDING_PER_ADDRESS', max: 4, room: 'r', retryAfterSeconds: 5 } },
      429,
      'Too many connecting sessions',
      'Your address already has 4 sessions that have not connected (ICE and DTLS), the MAX_PENDING_PER_ADDRESS limit; connect or DELETE those, or try again in 5 s.',
      '5',
    ],
    [
      { reason: 'over-limit', refusal: { limit: 'MAX_PENDING', max: 8, room: 'r', retryAfterSeconds: 5 } },
      503,
      'Too many connecting sessions',
      'The server already has 8 sessions that have not connected yet, its MAX_PENDING limit; try again in 5 s.',
      '5',
    ],
  ];
  for (const [failure, status, title, detail, retryAfter] of cases) {
    const what = failure.reason === 'over-limit' ? `over ${failure.refusal.limit}` : failure.reason;
    it(`${what}: ${status} ${title}`, () => {
      const problem = signalingProblem(failure);
      assert.deepEqual({ status: problem.status, title: problem.title, detail: problem.detail }, { status, title, detail });
      assert.equal(problem.headers?.['Retry-After'], retryAfter);
    });
  }
});
