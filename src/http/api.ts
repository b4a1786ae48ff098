// The JSON API (README "HTTP API": /api/rooms; /api/recordings is http/recordings.ts's): read-only views of what the server is doing.
import { Router } from 'express';
import type { Sfu } from '../sfu/sfu';

export function apiRouter(sfu: Sfu): Router {
  const router = Router();
  router.get('/api/rooms', (_req, res) => {
    res.json(sfu.rooms.list().map((room) => room.summary()));
  });
  return router;
}
