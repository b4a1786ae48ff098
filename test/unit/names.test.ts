// The names onecast accepts and makes (src/names.ts): one room name rule for the server
// and the pages, the room's part of an ICE ufrag, recording ids.
import assert from 'node:assert/strict';
import { iceRoomName, isRecordingId, isRoomName, recordingId, ROOM_NAME, ROOM_NAME_PATTERN } from '../../src/names';

describe('names', () => {
  it('a room name is 1 to 64 of A-Z a-z 0-9 _ -, nothing that could climb out of a path', () => {
    for (const ok of ['a', 'Z', '0', '_', '-', 'my_room-1', 'A'.repeat(64)]) assert.ok(isRoomName(ok), ok);
    for (const bad of ['', 'a'.repeat(65), '.', '..', 'a.b', 'a/b', 'a\\b', 'a\0', 'a b', 'a+b', '%2e', 'é', 'a\n', 5, null, undefined, ['a']]) {
      assert.ok(!isRoomName(bad), JSON.stringify(bad));
    }
  });

  it('the pages get the same rule as an HTML pattern (compiled by browsers with the v flag)', () => {
    // An <input pattern> is matched whole, as ^(?:pattern)$ with the v flag, where an unescaped '-' in a class is a syntax error.
    const asBrowsers = new RegExp(`^(?:${ROOM_NAME_PATTERN})$`, 'v');
    for (const name of ['demo', 'my_room-1', 'A'.repeat(64), '', 'a'.repeat(65), 'a.b', 'a/b', 'a b', 'é']) {
      assert.equal(asBrowsers.test(name), ROOM_NAME.test(name), name);
    }
  });

  it('the ICE room name holds only ICE characters and maps room names one-to-one', () => {
    assert.equal(iceRoomName('demo'), 'demo');
    assert.equal(iceRoomName('my_room-1'), 'my+5Froom+2D1');
    const names = ['a-b', 'a_b', 'a+2Db', 'a', '-', '_', '--', '__', '-_'].filter(isRoomName);
    const mapped = names.map(iceRoomName);
    assert.equal(new Set(mapped).size, names.length);
    for (const m of mapped) assert.match(m, /^[A-Za-z0-9+/]+$/);
  });

  it('a recording id is the UTC start second and the random part; other ids of 1 to 64 of A-Z a-z 0-9 - are read too', () => {
    assert.equal(recordingId(new Date('2026-11-24T10:15:00.999Z'), '3fa9c2d1'), '20261124T101500Z-3fa9c2d1');
    assert.ok(isRecordingId(recordingId(new Date(), '00000000')));
    for (const ok of ['abc', 'rec-1', 'x'.repeat(64)]) assert.ok(isRecordingId(ok), ok);
    for (const bad of ['', 'x'.repeat(65), '.', '..', 'a_b', 'a.mp4', 'a/b', 'a\0', 5]) assert.ok(!isRecordingId(bad), String(bad));
  });
});
