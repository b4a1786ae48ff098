// The relay tree's parent choice: origin first, then the shallowest relay with a child to
// spare, depth bounded, never itself or a node below it.
import assert from 'node:assert/strict';
import { MAX_TREE_DEPTH, chooseParent, parseRelayRecord, formatRelayRecord, type RelayRecord } from '../../src/cluster/relayTree';

const tree = (self: string, relays: Record<string, RelayRecord>, maxRelays = 1) => ({
  origin: 'o',
  self,
  relays: new Map(Object.entries(relays)),
  maxRelays: () => maxRelays,
});

describe('relay tree: the parent a node pulls a room from', () => {
  it('is the origin while it has children to spare (or no limit)', () => {
    assert.deepEqual(chooseParent(tree('a', {})), { nodeId: 'o', depth: 1 });
    assert.deepEqual(chooseParent(tree('b', { a: { parent: 'o', depth: 1 } }, 0)), { nodeId: 'o', depth: 1 });
  });

  it('is the shallowest relay with a child to spare once the origin is full, ties by id', () => {
    const relays = { b: { parent: 'o', depth: 1 }, a: { parent: 'o', depth: 1 }, c: { parent: 'a', depth: 2 } };
    assert.deepEqual(chooseParent(tree('x', relays, 2)), { nodeId: 'a', depth: 2 });
    assert.deepEqual(chooseParent(tree('x', { a: { parent: 'o', depth: 1 }, c: { parent: 'a', depth: 2 } })), { nodeId: 'c', depth: 3 });
  });

  it('builds a chain with MAX_RELAYS=1, as deep as MAX_TREE_DEPTH and no deeper', () => {
    const relays: Record<string, RelayRecord> = {};
    for (let i = 1; i <= MAX_TREE_DEPTH; i++) {
      const choice = chooseParent(tree(`e${i}`, relays));
      assert.deepEqual(choice, { nodeId: i === 1 ? 'o' : `e${i - 1}`, depth: i });
      relays[`e${i}`] = { parent: i === 1 ? 'o' : `e${i - 1}`, depth: i };
    }
    assert.equal(chooseParent(tree('late', relays)), 'full');
  });

  it('never picks itself or a node below it, and does not count its own pull as a child', () => {
    const relays = { a: { parent: 'o', depth: 1 }, b: { parent: 'a', depth: 2 }, c: { parent: 'b', depth: 3 } };
    // a re-pulls: the origin's one child is a itself.
    assert.deepEqual(chooseParent(tree('a', relays)), { nodeId: 'o', depth: 1 });
    // The origin is full with another child: b and c are below a, so a goes under z's line.
    assert.deepEqual(chooseParent(tree('a', { ...relays, z: { parent: 'o', depth: 1 }, y: { parent: 'z', depth: 2 } })), { nodeId: 'y', depth: 3 });
    assert.equal(chooseParent(tree('a', { ...relays, z: { parent: 'o', depth: 1 }, y: { parent: 'z', depth: MAX_TREE_DEPTH } })), 'full');
    assert.deepEqual(chooseParent(tree('a', { ...relays, z: { parent: 'o', depth: 1 } })), { nodeId: 'z', depth: 2 });
  });

  it('keeps records as "parent:depth"', () => {
    assert.equal(formatRelayRecord({ parent: 'node-1', depth: 2 }), 'node-1:2');
    assert.deepEqual(parseRelayRecord('node-1:2'), { parent: 'node-1', depth: 2 });
    assert.equal(parseRelayRecord('garbage'), undefined);
    assert.equal(parseRelayRecord(':1'), undefined);
  });
});
