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
}

export interface UpstreamDirectory {
  /**
   * The room's upstream when it is published on another node; undefined when it is
   * published nowhere (or here). Rejects with a SignalingError ('directory-unavailable')
   * when the directory cannot be read.
   */
  upstreamOf(room: string): Promise<Upstream | undefined>;
}
