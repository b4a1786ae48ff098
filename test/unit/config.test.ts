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
    assert.equal(c.logLevel, 'info');
    assert.equal(c.tlsCert, undefined);
    assert.equal(c.tlsKey, undefined);
  });

  it('takes TLS_CERT and TLS_KEY together, as absolute paths', () => {
    const c = loadConfig(['--tls-key', 'key.pem'], { TLS_CERT: 'cert.pem', LOG_LEVEL: 'debug' });
    assert.equal(c.tlsCert, path.resolve('cert.pem'));
    assert.equal(c.tlsKey, path.resolve('key.pem'));
    assert.equal(c.logLevel, 'debug');
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

  it('reads the recordings limits: ages with a unit, sizes in bytes or K/M/G/T', () => {
    const defaults = loadConfig([], {});
    assert.deepEqual([defaults.maxRecordings, defaults.maxMp4Remuxes, defaults.recordingsMaxAgeMs, defaults.recordingsMaxBytes], [10, 2, 0, 0]);
    const c = loadConfig(['--recordings-max-age', '30d'], { RECORDINGS_MAX_BYTES: '20G', MAX_RECORDINGS: '0', MAX_MP4_REMUXES: '1' });
    assert.equal(c.recordingsMaxAgeMs, 30 * 86_400_000);
    assert.equal(c.recordingsMaxBytes, 20 * 1024 ** 3);
    assert.equal(c.maxRecordings, 0);
    assert.equal(c.maxMp4Remuxes, 1);
    assert.equal(loadConfig([], { RECORDINGS_MAX_AGE: '90s', RECORDINGS_MAX_BYTES: '1500' }).recordingsMaxAgeMs, 90_000);
    assert.equal(loadConfig([], { RECORDINGS_MAX_BYTES: '1500' }).recordingsMaxBytes, 1500);
    assert.equal(loadConfig([], { RECORDINGS_MAX_AGE: '12h' }).recordingsMaxAgeMs, 12 * 3_600_000);
  });

  it('takes a webhook URL (http or https) and its secret, or neither', () => {
    const none = loadConfig([], {});
    assert.deepEqual([none.webhookUrl, none.webhookSecret], [undefined, undefined]);
    const c = loadConfig(['--webhook-secret', 'a-secret-of-16-chars'], { WEBHOOK_URL: 'https://hooks.example.com/onecast?key=k' });
    assert.equal(c.webhookUrl, 'https://hooks.example.com/onecast?key=k');
    assert.equal(c.webhookSecret, 'a-secret-of-16-chars');
    assert.equal(loadConfig([], { WEBHOOK_URL: 'http://127.0.0.1:9000' }).webhookUrl, 'http://127.0.0.1:9000/');
  });

  it('reads the authorization settings: paths made absolute, PEM text kept, the hook timeout in ms', () => {
    const config = loadConfig([], {
      STREAM_KEYS: 'keys.txt',
      JWT_PUBLIC_KEY: 'jwt.pem',
      JWT_SECRET: 'x'.repeat(32),
      AUTH_HOOK_URL: 'https://auth.example/check',
      AUTH_HOOK_TIMEOUT: '500ms',
    });
    assert.ok(path.isAbsolute(config.streamKeys!) && config.streamKeys!.endsWith('keys.txt'));
    assert.ok(path.isAbsolute(config.jwtPublicKey!));
    assert.equal(loadConfig([], { JWT_PUBLIC_KEY: '-----BEGIN PUBLIC KEY-----\\nMFk…' }).jwtPublicKey, '-----BEGIN PUBLIC KEY-----\\nMFk…');
    assert.equal(config.authHookTimeoutMs, 500);
    assert.equal(loadConfig([], {}).authHookTimeoutMs, 3000);
    assert.equal(loadConfig([], {}).jwtSecret, undefined);
  });

  it('has a flag for every environment variable', () => {
    for (const s of SETTINGS) assert.equal(s.flag, `--${s.env.toLowerCase().replace(/_/g, '-')}`);
    assert.deepEqual(
      SETTINGS.map((s) => s.env),
      [
        'HTTP_PORT',
        'HTTP_MAX_CONNECTIONS',
        'UDP_PORT',
        'BIND',
        'PUBLIC_IPS',
        'RECORD',
        'RECORDINGS_DIR',
        'PUBLISH_TOKEN',
        'PLAY_TOKEN',
        'ADMIN_TOKEN',
        'METRICS_TOKEN',
        'STREAM_KEYS',
        'JWT_SECRET',
        'JWT_PUBLIC_KEY',
        'JWT_JWKS_URL',
        'AUTH_HOOK_URL',
        'AUTH_HOOK_TIMEOUT',
        'FFMPEG_PATH',
        'LOG_LEVEL',
        'FANOUT',
        'TLS_CERT',
        'TLS_KEY',
        'ICE_SERVERS',
        'MAX_PUBLISHERS',
        'MAX_VIEWERS',
        'MAX_ROOM_VIEWERS',
        'MAX_SESSIONS',
        'MAX_PENDING',
        'MAX_PENDING_PER_ADDRESS',
        'MAX_RECORDINGS',
        'MAX_MP4_REMUXES',
        'RECORDINGS_MAX_AGE',
        'RECORDINGS_MAX_BYTES',
        'WEBHOOK_URL',
        'WEBHOOK_SECRET',
        'REDIS_URL',
        'NODE_URL',
        'NODE_ID',
        'CLUSTER_SECRET',
        'MAX_RELAYS',
      ],
    );
  });

  const wrong: Array<[string, Record<string, string>, string[], RegExp]> = [
    ['a port that is not a number', { UDP_PORT: 'abc' }, [], /^UDP_PORT must be a port number/],
    ['a port out of range', {}, ['--http-port', '70000'], /^HTTP_PORT must be a port number/],
    ['a BIND that is not an address', { BIND: 'localhost' }, [], /^BIND must be an IPv4 or IPv6 address/],
    ['a PUBLIC_IPS entry that is not an address', { PUBLIC_IPS: '1.2.3.4,example.com' }, [], /^PUBLIC_IPS .*"example.com"/],
    ['RECORD other than on/off', { RECORD: 'yes' }, [], /^RECORD must be "on" or "off"/],
    ['a token with a space', { PUBLISH_TOKEN: 'two words' }, [], /^PUBLISH_TOKEN may only contain/],
    ['an ADMIN_TOKEN with a quote', { ADMIN_TOKEN: 'a"b' }, [], /^ADMIN_TOKEN may only contain/],
    ['a METRICS_TOKEN with a comma', {}, ['--metrics-token', 'a,b'], /^METRICS_TOKEN may only contain/],
    ['a connection cap that is not a number', { HTTP_MAX_CONNECTIONS: 'many' }, [], /^HTTP_MAX_CONNECTIONS must be a whole number/],
    ['a LOG_LEVEL that is no level', { LOG_LEVEL: 'verbose' }, [], /^LOG_LEVEL must be one of debug, info, warn, error, silent; got "verbose"$/],
    ['TLS_CERT without TLS_KEY', { TLS_CERT: 'cert.pem' }, [], /^TLS_CERT and TLS_KEY must be set together for HTTPS; only TLS_CERT is set$/],
    ['TLS_KEY without TLS_CERT', {}, ['--tls-key', 'key.pem'], /^TLS_CERT and TLS_KEY must be set together for HTTPS; only TLS_KEY is set$/],
    ['a RECORDINGS_MAX_AGE without a unit', { RECORDINGS_MAX_AGE: '30' }, [], /^RECORDINGS_MAX_AGE must be 0 or a whole number with a unit/],
    ['a RECORDINGS_MAX_BYTES with a unit onecast does not know', { RECORDINGS_MAX_BYTES: '20GB' }, [], /^RECORDINGS_MAX_BYTES must be a whole number of bytes/],
    ['a MAX_MP4_REMUXES of 0', { MAX_MP4_REMUXES: '0' }, [], /^MAX_MP4_REMUXES must be a whole number from 1/],
    ['a MAX_RECORDINGS that is no number', { MAX_RECORDINGS: 'many' }, [], /^MAX_RECORDINGS must be a whole number \(0 for no limit\)/],
    ['a WEBHOOK_URL that is no URL', { WEBHOOK_URL: 'hooks.example.com/x' }, [], /^WEBHOOK_URL must be an http:\/\/ or https:\/\/ URL/],
    ['a WEBHOOK_URL of another scheme', { WEBHOOK_URL: 'ftp://example.com/' }, [], /^WEBHOOK_URL must be an http:\/\/ or https:\/\/ URL/],
    ['a WEBHOOK_URL with a password', { WEBHOOK_URL: 'https://u:p@example.com/' }, [], /^WEBHOOK_URL must not hold a user name or password/],
    ['a short WEBHOOK_SECRET', { WEBHOOK_URL: 'https://example.com/', WEBHOOK_SECRET: 'short' }, [], /^WEBHOOK_SECRET must be 16 characters or more/],
    ['a WEBHOOK_SECRET without WEBHOOK_URL', { WEBHOOK_SECRET: 'a-secret-of-16-chars' }, [], /^WEBHOOK_SECRET is set but WEBHOOK_URL is not/],
    ['a JWT_SECRET shorter than 32 bytes', { JWT_SECRET: 'short-secret' }, [], /^JWT_SECRET must be at least 32 bytes long \(HS256\), got 12$/],
    ['a JWT_JWKS_URL that is not http(s)', { JWT_JWKS_URL: 'file:///etc/jwks.json' }, [], /^JWT_JWKS_URL must be an http:\/\/ or https:\/\/ URL/],
    ['an AUTH_HOOK_URL that is no URL', {}, ['--auth-hook-url', 'auth.example'], /^AUTH_HOOK_URL must be an http:\/\/ or https:\/\/ URL, got "auth.example"$/],
    ['an AUTH_HOOK_URL with a user and password', {}, ['--auth-hook-url', 'https://u:p@auth.example/'], /^AUTH_HOOK_URL must not carry a user or password/],
    ['an AUTH_HOOK_TIMEOUT without a unit', { AUTH_HOOK_TIMEOUT: '3' }, [], /^AUTH_HOOK_TIMEOUT must be from 1ms to 60s/],
    ['an AUTH_HOOK_TIMEOUT over a minute', { AUTH_HOOK_TIMEOUT: '90s' }, [], /^AUTH_HOOK_TIMEOUT must be from 1ms to 60s/],
    ['an unknown flag', {}, ['--htp-port', '1'], /^unknown option "--htp-port"/],
    ['a flag without its value', {}, ['--udp-port'], /^--udp-port needs a value/],
  ];
  for (const [what, env, argv, message] of wrong) {
    it(`stops on ${what}, naming the setting`, () => {
      assert.throws(
        () => loadConfig(argv, env),
        (e: unknown) => e instanceof ConfigError && message.test(e.message) && !e.message.includes('\n'),
      );
    });
  }
});
