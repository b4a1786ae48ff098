// A node's part of the cluster's directory in Redis: its origin leases, its registry entry,
// its rooms' viewer counts, all renewed every REFRESH_MS and re-asserted as soon as the
// connection to Redis comes back; and the questions other parts ask of it: where a room is
// published (the UpstreamDirectory a WHEP POST for a room not published here asks), and
// which nodes there are (/api/nodes), which rooms the cluster has and how many watch them. While Redis is down the node serves its own rooms;
// only what needs the directory is refused, with 'directory-unavailable'.
import { makeClusterCredential } from '../auth/clusterCredential';
import type { Logger } from '../log';
import { SignalingError } from '../signaling/errors';
import type { Upstream, UpstreamDirectory, ViewerPlacement } from '../signaling/upstream';
import { clusterRooms, clusterViewersOf, type ClusterRoom } from './clusterView';
import { DirectoryConnection } from './connection';
import { REFRESH_MS } from './keys';
import { NodeRegistry, type NodeEntry, type NodeLimits, type NodeLoad } from './nodeRegistry';
import { OriginLeases } from './originLeases';
import { nodeWithRoom } from './placement';
import { RelayRecords } from './relayRecords';
import { MAX_TREE_DEPTH, chooseParent } from './relayTree';
import type { ClusterSettings } from './settings';
import { ViewerCounts } from './viewerCounts';

/** What a client refused for want of the directory is told to wait: node-redis retries at least this often. */
const UNAVAILABLE_RETRY_SECONDS = 2;
/**
 * A read that has no answer by then counts as the directory unavailable: a connection whose
 * peer vanished without a reset (a partition) fails no command, it only never answers.
 */
const READ_TIMEOUT_MS = 2_000;

export class ClusterDirectory implements UpstreamDirectory, ViewerPlacement {
  readonly leases: OriginLeases;
  readonly viewers: ViewerCounts;
  private readonly relayRecords: RelayRecords;
  private readonly registry: NodeRegistry;
  private readonly timer: NodeJS.Timeout;

  private constructor(
    private readonly connection: DirectoryConnection,
    private readonly settings: ClusterSettings,
    private readonly log: Logger,
    load: () => NodeLoad,
    limits: NodeLimits,
  ) {
    const { command } = connection;
    // A failed write is retried by the next refresh; the connection logs the outage once.
    const onError = (what: string, error: unknown) => log.debug(`cluster directory: ${what} not written`, { error: String(error) });
    this.leases = new OriginLeases(command, settings.nodeId, onError);
    this.viewers = new ViewerCounts(command, settings.nodeId, onError);
    this.relayRecords = new RelayRecords(command, settings.nodeId, onError);
    this.registry = new NodeRegistry(command, { id: settings.nodeId, url: settings.nodeUrl, ...limits }, load);
    connection.whenReady(() => this.refresh());
    this.timer = setInterval(() => this.refresh(), REFRESH_MS);
  }

  /** Connects to REDIS_URL (or, when it is down, goes on without it until it is back) and registers this node with its limits. */
  static async open(
    settings: ClusterSettings,
    log: Logger,
    load: () => NodeLoad,
    limits: NodeLimits = { maxViewers: 0, maxRelays: 0 },
  ): Promise<ClusterDirectory> {
    const connection = new DirectoryConnection(settings.redisUrl, log);
    const directory = new ClusterDirectory(connection, settings, log, load, limits);
    await connection.open();
    return directory;
  }

  get nodeId(): string {
    return this.settings.nodeId;
  }

  /** This node's NODE_URL. */
  get nodeUrl(): string {
    return this.settings.nodeUrl;
  }

  /** A fresh cluster credential, which every node accepts for watching and reading its lists. */
  credential(): string {
    return makeClusterCredential(this.settings.clusterSecret);
  }

  /** The room's origin, or the node of its relay tree this node is to pull from (relayTree.ts). */
  async upstreamOf(room: string): Promise<Upstream | undefined> {
    const self = this.settings.nodeId;
    const holder = await this.read(() => this.leases.holder(room));
    if (holder === undefined || holder === self) return undefined;
    const [nodes, records] = await this.read(() => Promise.all([this.registry.list(), this.relayRecords.of(room)]));
    const live = new Map(nodes.map((n) => [n.id, n]));
    // No registry entry: the holder died; its lease expires as its entry did.
    if (!live.has(holder)) return undefined;
    const relays = new Map([...records].filter(([id]) => live.has(id)));
    const choice = chooseParent({ origin: holder, self, relays, maxRelays: (id) => live.get(id)?.maxRelays ?? 0 });
    if (choice === 'full') throw new SignalingError({ reason: 'relay-tree-full', room, depth: MAX_TREE_DEPTH, retryAfterSeconds: UNAVAILABLE_RETRY_SECONDS });
    const url = live.get(choice.nodeId)!.url;
    return {
      url: `${url}/whep/${encodeURIComponent(room)}`,
      token: this.credential(),
      nodeId: choice.nodeId,
      depth: choice.depth,
    };
  }

  relayed(room: string, upstream: Upstream): void {
    this.relayRecords.set(room, { parent: upstream.nodeId, depth: upstream.depth ?? 1 });
  }

  unrelayed(room: string): void {
    this.relayRecords.delete(room);
  }

  async nodeWithRoom(): Promise<string | undefined> {
    return nodeWithRoom(await this.nodes(), this.settings.nodeId)?.url;
  }

  /** Every live node with its URL and load; rejects with 'directory-unavailable' when Redis cannot be read. */
  nodes(): Promise<NodeEntry[]> {
    return this.read(() => this.registry.list());
  }

  /** Every room published in the cluster, with its origin and viewers over all nodes; rejects with 'directory-unavailable' when Redis cannot be read. */
  rooms(): Promise<ClusterRoom[]> {
    return this.read(() => clusterRooms(this.connection.command));
  }

  /** `room`'s viewers over all nodes; rejects with 'directory-unavailable' when Redis cannot be read. */
  viewersOf(room: string): Promise<number> {
    return this.read(() => clusterViewersOf(this.connection.command, room));
  }

  /** Stops renewing and leaves the registry; the rest expires on its own (its leases went with their publishes). */
  async close(): Promise<void> {
    clearInterval(this.timer);
    this.viewers.flush();
    if (this.connection.up)
      await this.registry.deregister().catch((error: unknown) => this.log.debug('cluster directory: not deregistered', { error: String(error) }));
    await this.connection.close();
  }

  private refresh(): void {
    if (!this.connection.up) return;
    this.leases.refresh();
    this.viewers.refresh();
    this.relayRecords.refresh();
    this.registry.register().catch((error: unknown) => this.log.debug('cluster directory: registry entry not written', { error: String(error) }));
  }

  private async read<T>(query: () => Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const unanswered = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer in ${READ_TIMEOUT_MS} ms`)), READ_TIMEOUT_MS);
    });
    try {
      return await Promise.race([query(), unanswered]);
    } catch (error) {
      this.log.debug('cluster directory: read failed', { error: String(error) });
      throw new SignalingError({ reason: 'directory-unavailable', retryAfterSeconds: UNAVAILABLE_RETRY_SECONDS });
    } finally {
      clearTimeout(timer);
    }
  }
}
