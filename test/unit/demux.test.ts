import assert from 'node:assert/strict';
import { classify } from '../../src/engine/demux';

describe('RFC 7983 demux', () => {
  it('sorts datagrams by their first byte', () => {
    assert.equal(classify(Buffer.from([0x00, 0x01])), 'stun');
    assert.equal(classify(Buffer.from([0x03])), 'stun');
    assert.equal(classify(Buffer.from([22, 0xfe, 0xfd])), 'dtls'); // handshake record
    assert.equal(classify(Buffer.from([20])), 'dtls');
    assert.equal(classify(Buffer.from([63])), 'dtls');
    assert.equal(classify(Buffer.from([0x80, 96])), 'rtp');
    assert.equal(classify(Buffer.from([0x80, 0x80 | 111])), 'rtp'); // marker bit set
    assert.equal(classify(Buffer.from([0x80, 200])), 'rtcp'); // SR
    assert.equal(classify(Buffer.from([0x81, 206])), 'rtcp'); // PSFB
    assert.equal(classify(Buffer.from([0xbf, 201])), 'rtcp');
  });

  it('calls everything else unknown', () => {
    for (const b of [4, 19, 64, 127, 192, 255]) assert.equal(classify(Buffer.from([b, 0])), 'unknown', `byte ${b}`);
    assert.equal(classify(Buffer.alloc(0)), 'unknown');
    assert.equal(classify(Buffer.from([0x80])), 'unknown');
  });
});
