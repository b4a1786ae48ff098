// The JSON API (README "HTTP API": /api/rooms; /api/recordings is http/recordings.ts's): read-only views of what the server is doing.
import { Router } from 'express';
import type { Rooms } from '../sfu/rooms';
import { visibleRooms } from './auth';
import { roomSummary } from './roomSummary';

/** `isRecording(room)`: whether the room's current publish is being recorded. */
export function apiRouter(rooms: Rooms, isRecording: (room: string) => boolean): Router {
  const router = Router();
  router.get('/api/rooms', (_req, res) => {
    // A viewer allowed some rooms only (a JWT's play list) sees those.
    const visible = visibleRooms(res);
    res.json(
      rooms
        .list()
        .filter((room) => visible(room.name))
        .map((room) => roomSummary(room, isRecording(room.name))),
    );
  });
  return router;
}
