// /api/recordings in a cluster: one page of every node's recordings. Each node lists its own
// disk (scope=node) and the node asked merges those pages, newest first, making each entry's
// URLs absolute to the node that holds the files. The other nodes are asked over HTTP with
// the cluster credential rather than through an index in Redis: their list is already served,
// filtered and paged, and it is always current (nothing to publish on each change, nothing
// stale after a crash). A node that does not answer in time is left out, and the page says so.
import type { RecordingInfo } from '../recordings/recordingInfo';
import { newestFirstInfo } from '../recordings/store';
import type { ClusterServices } from './clusterServices';

/** The query a node adds when it asks another for its own recordings only. */
export const NODE_SCOPE = 'node';
/** A node that has not answered by then is left out of the page. */
const PEER_TIMEOUT_MS = 2_000;

/** One node's page: its recordings (URLs absolute) and whether it has more past them. */
export interface NodePage {
  recordings: RecordingInfo[];
  more: boolean;
}

export interface ClusterPage extends NodePage {
  /** Some node could not be asked (or the directory read): the page lists the others'. */
  partial: boolean;
}

/** `recording` with its playlist and download URLs on `nodeUrl` (relative ones only). */
export function onNode(recording: RecordingInfo, nodeUrl: string): RecordingInfo {
  const absolute = (url: string) => (url.startsWith('/') ? nodeUrl + url : url);
  return { ...recording, playlist: absolute(recording.playlist), download: absolute(recording.download) };
}

/** The first `limit` of the nodes' pages merged, newest first; more when any node has more. */
export function mergePages(pages: NodePage[], limit: number): NodePage {
  const all = pages.flatMap((p) => p.recordings).sort(newestFirstInfo);
  return { recordings: all.slice(0, limit), more: all.length > limit || pages.some((p) => p.more) };
}

/**
 * The cluster's page: `own` (this node's, URLs relative) and the other nodes' for the same
 * `query` (room, limit, before), each kept to the rooms `visible` to the caller.
 */
export async function clusterRecordingsPage(
  cluster: Pick<ClusterServices, 'nodeUrl' | 'nodes' | 'credential'>,
  own: NodePage,
  query: URLSearchParams,
  limit: number,
  visible: (room: string) => boolean,
): Promise<ClusterPage> {
  const pages: NodePage[] = [{ recordings: own.recordings.map((r) => onNode(r, cluster.nodeUrl)), more: own.more }];
  let partial = false;
  let others: string[] = [];
  try {
    others = (await cluster.nodes()).map((n) => n.url).filter((url) => url !== cluster.nodeUrl);
  } catch {
    partial = true;
  }
  const asked = await Promise.all(others.map((url) => askNode(url, query, cluster.credential())));
  for (const page of asked) {
    if (page === undefined) partial = true;
    else pages.push({ recordings: page.recordings.filter((r) => visible(r.room)), more: page.more });
  }
  return { ...mergePages(pages, limit), partial };
}

async function askNode(nodeUrl: string, query: URLSearchParams, credential: string): Promise<NodePage | undefined> {
  const scoped = new URLSearchParams(query);
  scoped.set('scope', NODE_SCOPE);
  try {
    const res = await fetch(`${nodeUrl}/api/recordings?${scoped.toString()}`, {
      headers: { Authorization: `Bearer ${credential}` },
      signal: AbortSignal.timeout(PEER_TIMEOUT_MS),
    });
    if (res.status !== 200) return undefined;
    const recordings = (await res.json()) as RecordingInfo[];
    return { recordings: recordings.map((r) => onNode(r, nodeUrl)), more: /rel="next"/.test(res.headers.get('link') ?? '') };
  } catch {
    return undefined;
  }
}
