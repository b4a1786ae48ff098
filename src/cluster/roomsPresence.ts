// What this node's rooms tell the directory: a publisher that connects claims its room's
// origin lease (and, should another node hold it, is closed: that node has the room), and
// lets it go when it leaves (a relay's room is not this node's to claim); each room's viewer count follows its viewers; and the node's load.
import type { Room } from '../sfu/room';
import type { Rooms } from '../sfu/rooms';
import { isIdle } from '../sfu/sfu';
import type { Logger } from '../log';
import type { ClusterDirectory } from './directory';
import type { NodeLoad } from './nodeRegistry';

/** This node's load as the registry shows it. */
export function loadOf(rooms: Rooms): NodeLoad {
  let viewers = 0;
  let publishers = 0;
  let relays = 0;
  for (const room of rooms.list()) {
    viewers += room.viewers.size;
    if (room.publisher === undefined) continue;
    if (room.publisher.session.relayedFrom === undefined) publishers++;
    else relays++;
  }
  return { viewers, publishers, relays };
}

export function announceRooms(rooms: Rooms, directory: Pick<ClusterDirectory, 'leases' | 'viewers' | 'nodeId'>, log: Logger): void {
  rooms.on('created', (room: Room) => {
    room.on('publisherConnected', (publisher) => {
      // A relay serves a room whose origin is elsewhere: the lease is that node's.
      if (publisher.session.relayedFrom !== undefined) return;
      const claim = directory.leases.claim(room.name, {
        stale: () => isIdle(publisher, Date.now()),
        lost: (holder) => {
          log.warn('publish ended: another node of the cluster has the room', { room: room.name, session: publisher.session.id, node: holder });
          publisher.close('replaced');
        },
      });
      const onLeft = (left: unknown) => {
        if (left !== publisher) return;
        room.off('publisherLeft', onLeft);
        claim.release();
      };
      room.on('publisherLeft', onLeft);
    });
    // A relay is one viewer of its upstream: taken off here, the sum over nodes counts people.
    const count = () => directory.viewers.set(room.name, room.viewers.size - (room.publisher?.session.relayedFrom !== undefined ? 1 : 0));
    room.on('viewerJoined', count);
    room.on('viewerLeft', count);
    room.on('publisherConnected', count);
    room.on('publisherLeft', count);
  });
}
