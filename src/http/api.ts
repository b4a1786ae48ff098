// The JSON API (README "HTTP API": /api/rooms, /api/nodes; /api/recordings is http/recordings.ts's): read-only views of what the server is doing.
import { Router } from 'express';
import type { NodeEntry } from '../cluster/nodeRegistry';
import type { Rooms } from '../sfu/rooms';
import { visibleRooms } from './auth';
import { sendError } from './common';
import { roomSummary } from './roomSummary';

/**
 * `isRecording(room)`: whether the room's current publish is being recorded; `nodes`: in a
 * cluster, the nodes of its registry (without one, /api/nodes is not served).
 */
export function apiRouter(rooms: Rooms, isRecording: (room: string) => boolean, nodes: (() => Promise<NodeEntry[]>) | undefined): Router {
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
  if (nodes !== undefined) {
    router.get('/api/nodes', async (_req, res) => {
      try {
        res.json(await nodes());
      } catch (error) {
        sendError(res, error);
      }
    });
  }
  return router;
}
