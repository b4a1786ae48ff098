// Who closes what: a room closes its publisher and viewers, a publisher its tracks, a
// viewer its forwarders, each closing its session; a session's end, however it came,
// is cleaned up by the engine (its mux entries) and by the room, even when one of the
// session's listeners throws.
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createCertificate, type Certificate } from '../../src/engine/dtls/certificate';
import { MediaEngine } from '../../src/engine/engine';
import { safeEmit } from '../../src/engine/safeEmit';
import type { CloseReason, Session } from '../../src/engine/session';
import { negotiate } from '../../src/sdp/negotiate';
import { parseOffer } from '../../src/sdp/offer';
import { negotiatePlay, sourceTracks } from '../../src/sdp/play';
import { Rooms } from '../../src/sfu/rooms';
import { jsFanout } from '../../src/sfu/jsFanout';

const fixture = (name: string) => readFileSync(path.join(__dirname, '..', 'fixtures', 'sdp', name), 'utf8');
const PUBLISH = negotiate(parseOffer(fixture('obs.sdp'), 'publish'), 'publish');
const PLAY = negotiatePlay(parseOffer(fixture('chromium-recvonly.sdp'), 'play'), sourceTracks(PUBLISH));

describe('safeEmit', () => {
  interface Events {
    gone: [id: number];
  }

  it('runs every listener when one throws, then throws what it threw', () => {
    const emitter = new EventEmitter<Events>();
    const heard: string[] = [];
    emitter.on('gone', () => {
      throw new Error('first listener failed');
    });
    emitter.on('gone', (id) => void heard.push(`map cleaned ${id}`));
    emitter.once('gone', (id) => void heard.push(`once ${id}`));
    assert.throws(() => safeEmit(emitter, 'gone', 7), /first listener failed/);
    assert.deepEqual(heard, ['map cleaned 7', 'once 7']);
    assert.equal(emitter.listenerCount('gone'), 2, 'the once-listener is gone, as after emit');
  });

  it('names every failure when several listeners throw, and is silent when none does', () => {
    const emitter = new EventEmitter<Events>();
    emitter.on('gone', () => {
      throw new Error('a');
    });
    emitter.on('gone', () => {
      throw new Error('b');
    });
    assert.throws(
      () => safeEmit(emitter, 'gone', 1),
      (e: unknown) => e instanceof AggregateError && e.errors.map((x: Error) => x.message).join() === 'a,b',
    );
    assert.doesNotThrow(() => safeEmit(new EventEmitter<Events>(), 'gone', 1));
  });
});

describe('close cascade', () => {
  let certificate: Certificate;
  let engine: MediaEngine;
  let rooms: Rooms;

  before(async () => {
    certificate = await createCertificate();
  });

  beforeEach(() => {
    engine = new MediaEngine({ bind: '127.0.0.1', udpPort: 0, certificate });
    rooms = new Rooms(jsFanout);
  });

  afterEach(async () => {
    await engine.close();
  });

  const newSession = (): Session => engine.createSession({ ufragPrefix: 'room', remoteUfrag: 'peer', remoteFingerprints: [] });
  const closedWith = (session: Session): Promise<CloseReason> => new Promise((resolve) => session.once('closed', resolve));

  it('a room closes its publisher (and its tracks) and its viewers (and their forwarders), each with its session', async () => {
    const room = rooms.getOrCreate('demo');
    const publisherSession = newSession();
    const publisher = room.attachPublisher(publisherSession, PUBLISH);
    const viewerSessions = [newSession(), newSession()];
    const viewers = viewerSessions.map((s) => room.addViewer(s, PLAY));
    assert.equal(viewers[0]!.forwarders.length, 2);
    const video = publisher.track('video')!;
    video.cache.put(
      Buffer.alloc(20),
      { sequenceNumber: 1, timestamp: 0, ssrc: 1, payloadType: 96, marker: false, payloadOffset: 12, payloadLength: 8 } as never,
      true,
    );
    assert.equal(video.cache.keyframeGroup().length, 1);
    const reasons = Promise.all([publisherSession, ...viewerSessions].map(closedWith));
    const left: string[] = [];
    room.on('publisherLeft', () => left.push('publisher'));
    room.on('viewerLeft', () => left.push('viewer'));

    room.close();

    assert.deepEqual(await reasons, ['server-shutdown', 'server-shutdown', 'server-shutdown']);
    assert.deepEqual(left, ['publisher', 'viewer', 'viewer']);
    assert.equal(room.publisher, undefined);
    assert.equal(room.viewers.size, 0);
    assert.equal(video.cache.keyframeGroup().length, 0, 'the closed track let go of its packets');
    assert.equal(video.cache.get(1), undefined);
    assert.equal(engine.sessionCount, 0);
    assert.equal(engine.mux.ufragCount, 0);
  });

  it('a session that ends by itself takes its viewer or publisher out of the room, and the empty room out of the rooms', () => {
    const room = rooms.getOrCreate('demo');
    const viewerSession = newSession();
    const viewer = room.addViewer(viewerSession, PLAY);
    const publisherSession = newSession();
    room.attachPublisher(publisherSession, PUBLISH);
    viewerSession.close('consent-expired');
    assert.ok(!room.viewers.has(viewer));
    assert.ok(rooms.get('demo') !== undefined, 'the publisher still holds the room');
    publisherSession.close('dtls-failed', 'the peer sent a bad certificate');
    assert.equal(room.publisher, undefined);
    assert.equal(rooms.get('demo'), undefined);
    assert.equal(publisherSession.failure, 'the peer sent a bad certificate');
  });

  it("a listener that throws on a session's end keeps neither the engine, the mux nor the room from letting go of it", () => {
    const room = rooms.getOrCreate('demo');
    const session = newSession();
    // Registered before the room's listener.
    session.once('closed', () => {
      throw new Error('a listener failed');
    });
    room.addViewer(session, PLAY);
    assert.equal(engine.sessionCount, 1);
    assert.equal(engine.mux.ufragCount, 1);
    assert.throws(() => session.close('deleted'), /a listener failed/);
    assert.ok(session.closed);
    assert.equal(engine.sessionCount, 0);
    assert.equal(engine.mux.ufragCount, 0);
    assert.equal(room.viewers.size, 0);
    assert.equal(rooms.get('demo'), undefined);
    assert.equal(session.listenerCount('closed'), 0);
  });

  it('a room whose member throws while closing still closes every other member, says closed, and reports the error', () => {
    const room = rooms.getOrCreate('demo');
    const publisherSession = newSession();
    room.attachPublisher(publisherSession, PUBLISH);
    const sessions = [newSession(), newSession(), newSession()];
    for (const s of sessions) room.addViewer(s, PLAY);
    // The first viewer's session has a listener that fails when it ends.
    sessions[0]!.once('closed', () => {
      throw new Error('a listener failed');
    });
    let closedEvents = 0;
    room.on('closed', () => closedEvents++);
    assert.throws(() => rooms.closeAll(), /a listener failed/);
    assert.ok(publisherSession.closed && sessions.every((s) => s.closed), 'every session closed');
    assert.equal(closedEvents, 1);
    assert.equal(room.viewers.size, 0);
    assert.equal(room.publisher, undefined);
    assert.equal(engine.sessionCount, 0);
    assert.equal(engine.mux.ufragCount, 0);
  });
});
