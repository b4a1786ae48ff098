// The JSON API (README "HTTP API": /api/rooms, /api/nodes; /api/recordings is http/recordings.ts's): read-only views of what the server is doing.
import { Router } from 'express';
import type { Rooms } from '../sfu/rooms';
import { CLUSTER_VIEW_HEADER, type ClusterServices } from './clusterServices';
import { visibleRooms } from './auth';
import { sendError } from './common';
import { roomSummary, withClusterRooms } from './roomSummary';

/**
 * `isRecording(room)`: whether the room's current publish is being recorded; `cluster`: in a
 * cluster, its directory's view (without one, /api/nodes is not served).
 */
export function apiRouter(rooms: Rooms, isRecording: (room: string) => boolean, cluster: Pick<ClusterServices, 'nodes' | 'rooms'> | undefined): Router {
  const router = Router();
  router.get('/api/rooms', async (_req, res) => {
    // A viewer allowed some rooms only (a JWT's play list) sees those.
    const visible = visibleRooms(res);
    const local = rooms
      .list()
      .filter((room) => visible(room.name))
      .map((room) => roomSummary(room, isRecording(room.name)));
    if (cluster === undefined) return void res.json(local);
    try {
      const elsewhere = (await cluster.rooms()).filter((room) => visible(room.room));
      res.json(withClusterRooms(local, elsewhere));
    } catch {
      // Redis away: this node's rooms are still worth showing, and the header says that is all.
      res.setHeader(CLUSTER_VIEW_HEADER, 'local-only');
      res.json(local);
    }
  });
  if (cluster !== undefined) {
    router.get('/api/nodes', async (_req, res) => {
      try {
        res.json(await cluster.nodes());
      } catch (error) {
        sendError(res, error);
      }
    });
  }
  return router;
}
