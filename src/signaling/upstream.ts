// Where a room's media comes from when it is published on another node: the signaling
// service asks this port and never knows how it is answered (the cluster's directory in
// Redis, or a test's fixed map), so a WHEP POST on any node can be served by a relay.

/** A room's source on another node: its WHEP endpoint there, and the credential a relay pulls with. */
export interface Upstream {
  /** Absolute WHEP endpoint URL of the room on the upstream node, e.g. http://10.0.0.7:8080/whep/demo. */
  url: string;
  /** Bearer token that node accepts from a relay (the cluster credential), whatever its play auth. */
  token: string;
  /** The upstream node's id, for logs and the relay tree. */
  nodeId: string;
  /** How far below the room's origin a relay pulling from it is (1: from the origin itself). */
  depth?: number;
}

export interface UpstreamDirectory {
  /**
   * The room's upstream when it is published on another node; undefined when it is
   * published nowhere (or here). Rejects with a SignalingError ('directory-unavailable')
   * when the directory cannot be read.
   */
  upstreamOf(room: string): Promise<Upstream | undefined>;
  /** This node's relay of `room` pulls from `upstream` now (the relay tree's record of it). */
  relayed?(room: string, upstream: Upstream): void;
  /** This node's relay of `room` ended. */
  unrelayed?(room: string): void;
}

/** Where a viewer goes when this node is at MAX_VIEWERS (the cluster's registry). */
export interface ViewerPlacement {
  /** The base URL (NODE_URL) of another live node with room for a viewer; undefined when none has. Rejects when the directory cannot be read. */
  nodeWithRoom(): Promise<string | undefined>;
}

/** Opens the relay that pulls a room from its upstream (relay/relays.ts): one per room, shared by the WHEP POSTs that need it. */
export interface RelayOpener {
  /** Resolves once the room's relay is connected (opening it if there is none); rejects when the upstream refuses or does not answer. */
  ensure(room: string, upstream: Upstream): Promise<void>;
  /** The room's relay while it is being opened or runs (`ready` as ensure's); undefined when it has none. */
  relaying(room: string): { ready: Promise<void>; upstream: Upstream } | undefined;
}

/** A directory that never changes: room → upstream (tests, and a fixed edge in front of one origin). */
export function fixedUpstreams(map: ReadonlyMap<string, Upstream> | Record<string, Upstream>): UpstreamDirectory {
  const entries = map instanceof Map ? map : new Map(Object.entries(map));
  return { upstreamOf: (room) => Promise.resolve(entries.get(room)) };
}
