// Every room that has a publisher or viewers, by name.
import { EventEmitter } from 'node:events';
import { forEachSafely } from '../engine/safeEmit';
import { Room } from './room';
import type { FanoutPath } from './forwarder';

export interface RoomsEvents {
  /** A room came into being (metrics follow its publishers and viewers from here). */
  created: [room: Room];
}

export class Rooms extends EventEmitter<RoomsEvents> {
  private readonly rooms = new Map<string, Room>();

  constructor(private readonly fanout: FanoutPath) {
    super();
  }

  get(name: string): Room | undefined {
    return this.rooms.get(name);
  }

  getOrCreate(name: string): Room {
    let room = this.rooms.get(name);
    if (room === undefined) {
      room = new Room(name, this.fanout);
      this.rooms.set(name, room);
      const created = room;
      // A room lives as long as something is in it.
      const releaseIfEmpty = () => {
        if (created.empty) this.delete(created);
      };
      created.on('publisherLeft', releaseIfEmpty);
      created.on('viewerLeft', releaseIfEmpty);
      this.emit('created', created);
    }
    return room;
  }

  list(): Room[] {
    return [...this.rooms.values()];
  }

  get size(): number {
    return this.rooms.size;
  }

  closeAll(): void {
    forEachSafely(this.rooms.values(), (room) => this.delete(room));
  }

  private delete(room: Room): void {
    if (this.rooms.get(room.name) === room) this.rooms.delete(room.name);
    room.close();
  }
}
