// The origin leases and viewer counts of src/cluster/ on a real redis-server, as two nodes
// would write them, without the rest of onecast: who holds a room, what a second claimant
// is told, how a stale publisher's lease lapses and is then lost, and how counts leave.
import assert from 'node:assert/strict';
import { DirectoryConnection } from '../../src/cluster/connection';
import { ENTRY_TTL_MS, VIEWER_COUNT_BATCH_MS } from '../../src/cluster/keys';
import { OriginLeases, type ClaimHooks } from '../../src/cluster/originLeases';
import { ViewerCounts } from '../../src/cluster/viewerCounts';
import { silentLogger } from '../../src/log';
import { RedisServer } from '../support/redisServer';
import { waitFor } from '../support/server';

describe('cluster leases and viewer counts on Redis', function () {
  this.timeout(30_000);
  let redis: RedisServer;
  let connection: DirectoryConnection;
  const failOnError = (what: string, error: unknown) => assert.fail(`${what}: ${String(error)}`);
  const holder = () => redis.query((c) => c.get('onecast:origin:studio'));

  /** A claimant whose losses are recorded; `stale` says whether its publisher has gone quiet. */
  const claimant = () => {
    const state = { stale: false, lostTo: [] as string[] };
    const hooks: ClaimHooks = { stale: () => state.stale, lost: (h) => state.lostTo.push(h) };
    return { state, hooks };
  };

  before(async () => {
    redis = await RedisServer.start();
    connection = new DirectoryConnection(redis.url, silentLogger);
    await connection.open();
  });

  after(async () => {
    await connection?.close();
    await redis?.stop();
  });

  it('gives the room to the first claimant, tells the second who has it, and frees it on release', async () => {
    const a = new OriginLeases(connection.command, 'node-a', failOnError);
    const b = new OriginLeases(connection.command, 'node-b', failOnError);
    const first = claimant();
    const second = claimant();
    const claim = a.claim('studio', first.hooks);
    await waitFor('the lease', async () => ((await holder()) === 'node-a' ? true : undefined));
    const ttl = await redis.query((c) => c.pTTL('onecast:origin:studio'));
    assert.ok(ttl > 0 && ttl <= ENTRY_TTL_MS, `PTTL ${ttl}`);
    b.claim('studio', second.hooks);
    await waitFor('the second claim lost', () => (second.state.lostTo.length > 0 ? true : undefined));
    assert.deepEqual(second.state.lostTo, ['node-a']);
    assert.equal(await a.holder('studio'), 'node-a');
    a.refresh();
    b.refresh();
    claim.release();
    await waitFor('the lease let go', async () => ((await holder()) === null ? true : undefined));
    assert.deepEqual(first.state.lostTo, []);
    b.claim('studio', claimant().hooks);
    await waitFor('the room free for node-b', async () => ((await holder()) === 'node-b' ? true : undefined));
    await redis.query((c) => c.del('onecast:origin:studio'));
  });

  it("lets a stale publisher's lease lapse; another node's claim then closes it, and a live one re-asserts a lapsed lease", async () => {
    const a = new OriginLeases(connection.command, 'node-a', failOnError);
    const b = new OriginLeases(connection.command, 'node-b', failOnError);
    const quiet = claimant();
    a.claim('studio', quiet.hooks);
    await waitFor('the lease', async () => ((await holder()) === 'node-a' ? true : undefined));
    // As if its last renewal were ENTRY_TTL_MS ago: it lapses in 100 ms.
    await redis.query((c) => c.pExpire('onecast:origin:studio', 100));
    quiet.state.stale = true;
    a.refresh();
    await waitFor('the lease lapsed', async () => ((await holder()) === null ? true : undefined));
    const taker = claimant();
    b.claim('studio', taker.hooks);
    await waitFor('node-b holding', async () => ((await holder()) === 'node-b' ? true : undefined));
    a.refresh();
    await waitFor('the stale publish told', () => (quiet.state.lostTo.length > 0 ? true : undefined));
    assert.deepEqual(quiet.state.lostTo, ['node-b']);
    assert.deepEqual(taker.state.lostTo, []);

    // node-b's lease lapses (Redis restarted empty, say) while its publisher is live: the next refresh sets it again.
    await redis.query((c) => c.del('onecast:origin:studio'));
    b.refresh();
    await waitFor('the lease re-asserted', async () => ((await holder()) === 'node-b' ? true : undefined));
  });

  it('writes a changing count at most once a batch, renews it, and removes the field when the last viewer leaves', async () => {
    const counts = new ViewerCounts(connection.command, 'node-a', failOnError);
    const count = () => redis.query((c) => c.hGet('onecast:viewers:studio', 'node-a'));
    counts.set('studio', 1);
    counts.set('studio', 2);
    assert.equal(await count(), null, 'held back for the batch');
    await waitFor('the batched count', async () => ((await count()) === '2' ? true : undefined), VIEWER_COUNT_BATCH_MS * 3);
    const ttl = await redis.query((c) => c.pTTL('onecast:viewers:studio'));
    assert.ok(ttl > 0 && ttl <= ENTRY_TTL_MS, `PTTL ${ttl}`);
    await redis.query((c) => c.del('onecast:viewers:studio'));
    counts.refresh();
    await waitFor('the count rewritten', async () => ((await count()) === '2' ? true : undefined));
    counts.set('studio', 0);
    counts.flush();
    await waitFor('the field removed', async () => ((await count()) === null ? true : undefined));
  });
});
