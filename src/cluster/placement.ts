// Where a viewer goes when its node is full (MAX_VIEWERS): the live node with the fewest
// viewers among those below their own MAX_VIEWERS, never the full node itself. The registry's
// counts are up to REFRESH_MS old, so a node chosen may have filled meanwhile: it then answers
// 307 in its turn, or 503 when it knows no node with room (clients stop after a few redirects).
import type { NodeEntry } from './nodeRegistry';

/** The node with the most room for one more viewer besides `selfId`; undefined when none has room. */
export function nodeWithRoom(
  nodes: readonly Pick<NodeEntry, 'id' | 'url' | 'viewers' | 'maxViewers'>[],
  selfId: string,
): { id: string; url: string } | undefined {
  const open = nodes.filter((n) => n.id !== selfId && (n.maxViewers === 0 || n.viewers < n.maxViewers));
  open.sort((a, b) => a.viewers - b.viewers || a.id.localeCompare(b.id));
  const best = open[0];
  return best === undefined ? undefined : { id: best.id, url: best.url };
}
