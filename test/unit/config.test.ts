import assert from 'node:assert/strict';
import path from 'node:path';
import { ConfigError, SETTINGS, loadConfig } from '../../src/config';

describe('configuration', () => {
  it('serves a single machine with no configuration', () => {
    const c = loadConfig([], {});
    assert.equal(c.httpPort, 8080);
    assert.equal(c.udpPort, 8189);
    assert.equal(c.bind, '0.0.0.0');
    assert.ok(c.publicIps.length > 0);
    assert.equal(c.record, false);
    assert.equal(c.recordingsDir, path.resolve('recordings'));
    assert.equal(c.publishToken, undefined);
    assert.equal(c.playToken, undefined);
    assert.equal(c.ffmpegPath, 'ffmpeg');
  });

  it('reads environment variables, and same-named flags win over them', () => {
    const env = { HTTP_PORT: '9000', UDP_PORT: '9001', PUBLIC_IPS: '203.0.113.5, 2001:db8::1', RECORD: 'on', PUBLISH_TOKEN: 's3cret' };
    const c = loadConfig(['--http-port', '9100', '--play-token=viewer', '--bind', '::'], env);
    assert.equal(c.httpPort, 9100);
    assert.equal(c.udpPort, 9001);
    assert.equal(c.bind, '::');
    assert.deepEqual(c.publicIps, ['203.0.113.5', '2001:db8::1']);
    assert.equal(c.record, true);
    assert.equal(c.publishToken, 's3cret');
    assert.equal(c.playToken, 'viewer');
  });

  it('has a flag for every environment variable', () => {
    for (const s of SETTINGS) assert.equal(s.flag, `--${s.env.toLowerCase().replace(/_/g, '-')}`);
    assert.deepEqual(SETTINGS.map((s) => s.env), ['HTTP_PORT', 'UDP_PORT', 'BIND', 'PUBLIC_IPS', 'RECORD', 'RECORDINGS_DIR', 'PUBLISH_TOKEN', 'PLAY_TOKEN', 'FFMPEG_PATH']);
  });

  const wrong: Array<[string, Record<string, string>, string[], RegExp]> = [
    ['a port that is not a number', { UDP_PORT: 'abc' }, [], /^UDP_PORT must be a port number/],
    ['a port out of range', {}, ['--http-port', '70000'], /^HTTP_PORT must be a port number/],
    ['a BIND that is not an address', { BIND: 'localhost' }, [], /^BIND must be an IPv4 or IPv6 address/],
    ['a PUBLIC_IPS entry that is not an address', { PUBLIC_IPS: '1.2.3.4,example.com' }, [], /^PUBLIC_IPS .*"example.com"/],
    ['RECORD other than on/off', { RECORD: 'yes' }, [], /^RECORD must be "on" or "off"/],
    ['a token with a space', { PUBLISH_TOKEN: 'two words' }, [], /^PUBLISH_TOKEN may only contain/],
    ['an unknown flag', {}, ['--htp-port', '1'], /^unknown option "--htp-port"/],
    ['a flag without its value', {}, ['--udp-port'], /^--udp-port needs a value/],
  ];
  for (const [what, env, argv, message] of wrong) {
    it(`stops on ${what}, naming the setting`, () => {
      assert.throws(() => loadConfig(argv, env), (e: unknown) => e instanceof ConfigError && message.test(e.message) && !e.message.includes('\n'));
    });
  }
});
