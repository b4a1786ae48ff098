// What the HTTP side reads of the cluster (the server fills it in from the cluster's
// directory), and the header that says when a list is short of the cluster's.
import type { ClusterRoom } from '../cluster/clusterView';
import type { NodeEntry } from '../cluster/nodeRegistry';
import type { ViewerTotals } from '../cluster/viewerTotals';

/** Set on a clustered node's list when part of the cluster could not be read: `local-only` (the directory) or `partial` (a node). */
export const CLUSTER_VIEW_HEADER = 'Onecast-Cluster-View';

/** A clustered node's view of the cluster; each read rejects with 'directory-unavailable' while Redis cannot be read. */
export interface ClusterServices {
  /** This node's NODE_URL. */
  nodeUrl: string;
  /** The nodes of its registry, with their load (/api/nodes). */
  nodes(): Promise<NodeEntry[]>;
  /** The rooms published anywhere, with their origin and viewers over all nodes (/api/rooms). */
  rooms(): Promise<ClusterRoom[]>;
  /** The rooms' viewers over all nodes, as the WHEP events tell them. */
  totals: ViewerTotals;
  /** A fresh cluster credential: what this node asks the others' /api/recordings with. */
  credential(): string;
}
