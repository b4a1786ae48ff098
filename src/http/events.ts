// The WHEP server-sent-events extension (draft-ietf-wish-whep core extensions,
// "Server Sent Events extension"). A WHEP 201 announces it in a Link header; the
// player POSTs the JSON list of events it wants to /whep/{room}/{session}/events,
// gets the Location of an event stream, and reads it with EventSource:
//   event: active | inactive     data: {}                  a publisher is live, or no longer
//   event: viewercount           data: {"viewercount":N}   the room's viewers (in a cluster: on every node)
// On connect a stream sends the room's state at once. The stream URL holds 128 random
// bits; when watching is guarded (PLAY_TOKEN, JWTs, …), the Location is also a signed URL (signedUrl.ts), since
// EventSource cannot send an Authorization header and the stream, like everything a
// viewer reads, needs the token. It lives as long as the viewer's session, or until DELETE.
import { randomBytes } from 'node:crypto';
import express, { Router, type Request, type Response } from 'express';
import type { Session } from '../engine/session';
import type { SignalingService } from '../signaling/service';
import type { Room } from '../sfu/room';
import type { Rooms } from '../sfu/rooms';
import { RoomWatch, type RoomChange } from '../sfu/roomWatch';
import type { Authorizer } from '../auth/authorizer';
import { authorizeRequest } from './auth';
import { methodNotAllowed, sendError } from './common';
import { sendProblem, type Problem } from './problem';
import type { UrlSigner } from './signedUrl';
import type { ViewerTotals } from '../cluster/viewerTotals';

export const EVENTS_REL = 'urn:ietf:params:whep:ext:core:server-sent-events';
export const EVENT_NAMES = ['active', 'inactive', 'viewercount'] as const;
type EventName = (typeof EVENT_NAMES)[number];

/** Methods of the extension's entry point and of each stream (for 405 and OPTIONS). */
export const EVENTS_ENTRY_METHODS = ['POST', 'OPTIONS'] as const;
export const EVENT_STREAM_METHODS = ['GET', 'HEAD', 'DELETE', 'OPTIONS'] as const;
export const EVENTS_ENTRY_PATH = /^\/whep\/[^/]+\/[^/]+\/events\/?$/;
export const EVENT_STREAM_PATH = /^\/whep\/[^/]+\/[^/]+\/events\/[^/]+\/?$/;

/** A comment line now and then keeps proxies and NATs from closing a quiet stream. */
const KEEPALIVE_MS = 15_000;
/**
 * How long a stream's signed Location lets EventSource (re)connect: the stream ends
 * with its session anyway, so this only bounds a URL that leaked.
 */
const SIGNED_STREAM_TTL_SECONDS = 24 * 3600;
/** Streams one viewer session may hold; a new one past this replaces its oldest. */
const MAX_STREAMS_PER_SESSION = 4;

/** The Link header a WHEP 201 carries to announce the extension; `base`: NODE_URL in a cluster, else ''. */
export function eventsLink(base: string, room: string, sessionId: string): string {
  return `<${base}/whep/${encodeURIComponent(room)}/${sessionId}/events>; rel="${EVENTS_REL}"; events="${EVENT_NAMES.join(',')}"`;
}

interface EventStream {
  readonly id: string;
  readonly room: Room;
  readonly sessionId: string;
  readonly events: ReadonlySet<EventName>;
  /** Ends the GET reading it now, if one is. */
  stopReading: (() => void) | undefined;
}

/** A viewer session's streams, and the listener that ends them with it. */
interface SessionStreams {
  readonly streams: EventStream[];
  readonly session: Session;
  readonly onClosed: () => void;
}

/**
 * `base`: NODE_URL in a cluster (the stream's Location names this node), else ''; `totals`: in
 * a cluster, the rooms' viewer counts over every node, which viewercount then tells instead of this node's.
 */
export function eventsRouter(
  signaling: SignalingService,
  rooms: Rooms,
  authorizer: Authorizer,
  signer: UrlSigner,
  base: string,
  totals: ViewerTotals | undefined,
): Router {
  const router = Router();
  const watch = new RoomWatch();
  const streams = new Map<string, EventStream>();
  const bySession = new Map<string, SessionStreams>();

  function remove(stream: EventStream): void {
    if (!streams.delete(stream.id)) return;
    stream.stopReading?.();
    const owner = bySession.get(stream.sessionId)!;
    owner.streams.splice(owner.streams.indexOf(stream), 1);
    if (owner.streams.length === 0) {
      owner.session.off('closed', owner.onClosed);
      bySession.delete(stream.sessionId);
    }
  }

  function add(stream: EventStream, session: Session): void {
    let owner = bySession.get(stream.sessionId);
    if (owner === undefined) {
      const onClosed = () => {
        for (const s of [...(bySession.get(stream.sessionId)?.streams ?? [])]) remove(s);
      };
      owner = { streams: [], session, onClosed };
      bySession.set(stream.sessionId, owner);
      session.once('closed', onClosed);
    }
    if (owner.streams.length >= MAX_STREAMS_PER_SESSION) remove(owner.streams[0]!);
    owner.streams.push(stream);
    streams.set(stream.id, stream);
  }

  function find(req: Request): EventStream | undefined {
    const stream = streams.get(String(req.params['stream']));
    const matches = stream !== undefined && stream.room.name === req.params['room'] && stream.sessionId === req.params['session'];
    return matches ? stream : undefined;
  }

  function notFound(res: Response): void {
    sendProblem(res, {
      status: 404,
      title: 'No such event stream',
      detail: "This event stream does not exist (any more): it ends with its WHEP session. POST to the session's /events URL for a new one.",
    });
  }

  router.post('/whep/:room/:session/events', express.text({ type: 'application/json', limit: '64kb' }), async (req: Request, res: Response) => {
    const denied = await authorizeRequest(authorizer.authorize, req, res, 'play', String(req.params['room']));
    if (denied !== undefined) return sendProblem(res, denied);
    const roomName = String(req.params['room']);
    const sessionId = String(req.params['session']);
    let session: Session;
    try {
      session = signaling.session('play', roomName, sessionId);
    } catch (error) {
      return sendError(res, error);
    }
    const events = requestedEvents(req);
    if (!(events instanceof Set)) return sendProblem(res, events);
    const stream: EventStream = { id: randomBytes(16).toString('hex'), room: rooms.get(roomName)!, sessionId, events, stopReading: undefined };
    add(stream, session);
    const location = `/whep/${encodeURIComponent(roomName)}/${sessionId}/events/${stream.id}`;
    res
      .status(201)
      .location(base + (authorizer.isOpen('play') ? location : signer.sign(location, SIGNED_STREAM_TTL_SECONDS).url))
      .end();
  });

  router.get('/whep/:room/:session/events/:stream', (req: Request, res: Response) => {
    const stream = find(req);
    if (stream === undefined) return notFound(res);
    res.status(200).setHeader('Content-Type', 'text/event-stream; charset=utf-8');
    res.setHeader('Cache-Control', 'no-store');
    // nginx and the like would otherwise hold events back in their buffers.
    res.setHeader('X-Accel-Buffering', 'no');
    if (req.method === 'HEAD') return void res.end();
    // One reader at a time: a reconnecting EventSource takes over from its old request.
    stream.stopReading?.();
    res.flushHeaders();
    const send = (change: RoomChange) => {
      if (!stream.events.has(change.name)) return;
      const data = change.name === 'viewercount' ? { viewercount: change.viewercount } : {};
      res.write(`event: ${change.name}\ndata: ${JSON.stringify(data)}\n\n`);
    };
    // In a cluster the count comes from the totals; the room's own is this node's share.
    const sendRoomChange = (change: RoomChange) => {
      if (totals === undefined || change.name !== 'viewercount') send(change);
    };
    for (const change of RoomWatch.current(stream.room)) sendRoomChange(change);
    const unwatchRoom = watch.watch(stream.room, sendRoomChange);
    const unwatchTotal = totals?.watch(stream.room.name, (viewercount) => send({ name: 'viewercount', viewercount }));
    const unwatch = () => {
      unwatchRoom();
      unwatchTotal?.();
    };
    const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), KEEPALIVE_MS);
    const stop = () => {
      res.off('close', stop);
      unwatch();
      clearInterval(keepAlive);
      if (stream.stopReading === stop) stream.stopReading = undefined;
      res.end();
    };
    stream.stopReading = stop;
    res.on('close', stop);
  });

  router.delete('/whep/:room/:session/events/:stream', (req: Request, res: Response) => {
    const stream = find(req);
    if (stream === undefined) return notFound(res);
    remove(stream);
    res.status(200).end();
  });

  router.all('/whep/:room/:session/events', methodNotAllowed(EVENTS_ENTRY_METHODS));
  router.all('/whep/:room/:session/events/:stream', methodNotAllowed(EVENT_STREAM_METHODS));
  return router;
}

/**
 * The events a POST asks for: its JSON array, or every event when it has no body
 * (the draft makes the body optional). Names onecast does not send are refused, as
 * the draft requires, so a player never waits for an event that cannot come.
 */
function requestedEvents(req: Request): Set<EventName> | Problem {
  const length = Number(req.get('content-length') ?? '0');
  if (length === 0 && req.get('transfer-encoding') === undefined) return new Set(EVENT_NAMES);
  if (!req.is('application/json')) {
    return {
      status: 415,
      title: 'Unsupported Media Type',
      detail: `Send the list of events as "Content-Type: application/json", e.g. ["active","inactive","viewercount"] (got "${req.get('content-type') ?? 'none'}").`,
    };
  }
  let list: unknown;
  try {
    list = JSON.parse(String(req.body));
  } catch {
    list = undefined;
  }
  if (!Array.isArray(list) || list.length === 0 || !list.every((e) => typeof e === 'string')) {
    return {
      status: 400,
      title: 'Bad event list',
      detail: `The body must be a JSON array of event names, e.g. ["active","inactive","viewercount"]; onecast sends ${EVENT_NAMES.join(', ')}.`,
    };
  }
  const unknown = list.filter((e) => !(EVENT_NAMES as readonly string[]).includes(e));
  if (unknown.length > 0) {
    const named = unknown
      .slice(0, 5)
      .map((e) => JSON.stringify(e.slice(0, 40)))
      .join(', ');
    return {
      status: 400,
      title: 'Unsupported events',
      detail: `onecast does not send ${named}${unknown.length > 5 ? ', …' : ''}; ask only for ${EVENT_NAMES.join(', ')}.`,
    };
  }
  return new Set(list as EventName[]);
}
