// ICE_SERVERS: the STUN/TURN URIs an operator writes, what is refused with a reason,
// and the RFC 9725 Link header each becomes; the session limits' values.
import assert from 'node:assert/strict';
import { ConfigError, loadConfig } from '../../src/config';
import { iceServerLink, parseIceServer } from '../../src/iceServers';

describe('ICE_SERVERS and the session limits', () => {
  it('reads STUN and TURN URIs, TURN credentials from the user part, percent-decoded', () => {
    assert.deepEqual(parseIceServer('stun:stun.example.net'), { url: 'stun:stun.example.net' });
    assert.deepEqual(parseIceServer('STUN:192.0.2.7:3478'), { url: 'stun:192.0.2.7:3478' });
    assert.deepEqual(parseIceServer('stuns:[2001:db8::1]:5349'), { url: 'stuns:[2001:db8::1]:5349' });
    assert.deepEqual(parseIceServer('turn:alice:s%40cret%2C%3A1@turn.example.net:3478?transport=UDP'), {
      url: 'turn:turn.example.net:3478?transport=udp',
      username: 'alice',
      credential: 's@cret,:1',
    });
    assert.deepEqual(parseIceServer('turns:bob:pw@turn.example.net'), { url: 'turns:turn.example.net', username: 'bob', credential: 'pw' });
  });

  it('refuses what is not a usable ICE server, saying why', () => {
    const refused: [entry: string, reason: RegExp][] = [
      ['https://stun.example.net', /not a stun:, stuns:, turn: or turns: URI/],
      ['stun:user:pw@stun.example.net', /STUN servers take no credentials/],
      ['turn:turn.example.net:3478', /needs credentials, written turn:USER:PASSWORD@turn.example.net/],
      ['turn:alice@turn.example.net', /needs credentials/],
      ['turn:alice:@turn.example.net', /needs credentials/],
      ['stun:stun.example.net:0', /port/],
      ['stun:stun.example.net:65536', /port/],
      ['stun:stun.example.net:http', /port/],
      ['stun:stun.example.net?transport=udp', /only TURN URIs take a query/],
      ['turn:a:b@turn.example.net?transport=sctp', /only \?transport=udp or \?transport=tcp/],
      ['stun:[not-an-address]', /valid host/],
      ['stun:bad_host.example', /valid host/],
      ['stun:', /valid host/],
      ['turn:alice:%zz@turn.example.net', /broken %-escape/],
      ['turn:alice:line%0Abreak@turn.example.net', /printable ASCII/],
    ];
    for (const [entry, reason] of refused) assert.throws(() => parseIceServer(entry), reason, entry);
  });

  it('writes RFC 9725 Link values: TURN with username, credential and credential-type, quoted', () => {
    assert.equal(iceServerLink({ url: 'stun:stun.example.net' }), '<stun:stun.example.net>; rel="ice-server"');
    assert.equal(
      iceServerLink(parseIceServer('turn:al%22ice:back%5Cslash@turn.example.net?transport=tcp')),
      '<turn:turn.example.net?transport=tcp>; rel="ice-server"; username="al\\"ice"; credential="back\\\\slash"; credential-type="password"',
    );
  });

  it('takes ICE_SERVERS as a comma list and names the setting in its errors', () => {
    assert.deepEqual(loadConfig([], {}).iceServers, []);
    const c = loadConfig(['--ice-servers', 'stun:a.example, turn:u:p@b.example:3478'], {});
    assert.deepEqual(c.iceServers, [{ url: 'stun:a.example' }, { url: 'turn:b.example:3478', username: 'u', credential: 'p' }]);
    assert.throws(
      () => loadConfig([], { ICE_SERVERS: 'stun:a.example,turn:b.example' }),
      (e: unknown) => e instanceof ConfigError && /^ICE_SERVERS: "turn:b.example": a TURN server needs credentials/.test(e.message),
    );
  });

  it('takes MAX_SESSIONS and the other limits as whole numbers, 0 for no limit', () => {
    const defaults = loadConfig([], {});
    assert.deepEqual(
      [defaults.maxSessions, defaults.maxPublishers, defaults.maxViewers, defaults.maxRoomViewers, defaults.maxPending, defaults.maxPendingPerAddress],
      [0, 100, 2000, 0, 256, 32],
    );
    assert.equal(loadConfig([], { MAX_SESSIONS: '0' }).maxSessions, 0);
    assert.equal(loadConfig(['--max-sessions=50'], {}).maxSessions, 50);
    assert.equal(loadConfig(['--max-pending-per-address', '4'], {}).maxPendingPerAddress, 4);
    for (const bad of ['-1', '1.5', 'many', '']) {
      assert.throws(
        () => loadConfig([], { MAX_SESSIONS: bad }),
        (e: unknown) => e instanceof ConfigError && /^MAX_SESSIONS must be a whole number/.test(e.message),
        bad,
      );
      assert.throws(
        () => loadConfig([], { MAX_VIEWERS: bad }),
        (e: unknown) => e instanceof ConfigError && /^MAX_VIEWERS must be a whole number/.test(e.message),
        bad,
      );
    }
  });
});
