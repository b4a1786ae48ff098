// Start-up as a user meets it: a wrong setting stops it with one clear line.
import assert from 'node:assert/strict';
import { runServerToExit } from '../support/process';

describe('start-up', function () {
  this.timeout(30_000);

  it('stops with one line naming the setting when a value is wrong', async () => {
    const { code, output } = await runServerToExit({ UDP_PORT: 'eighty' });
    assert.equal(code, 2);
    assert.equal(output.trim(), 'onecast: UDP_PORT must be a port number from 1 to 65535, got "eighty"');
  });

  it('stops with one line when a CLI flag is wrong', async () => {
    const { code, output } = await runServerToExit({}, ['--record', 'maybe']);
    assert.equal(code, 2);
    assert.equal(output.trim(), 'onecast: RECORD must be "on" or "off", got "maybe"');
  });

  it('stops with one line naming LOG_LEVEL when it is not a level', async () => {
    const { code, output } = await runServerToExit({ LOG_LEVEL: 'verbose' });
    assert.equal(code, 2);
    assert.equal(output.trim(), 'onecast: LOG_LEVEL must be one of debug, info, warn, error, silent; got "verbose"');
  });

  it('--help lists every setting', async () => {
    const { code, output } = await runServerToExit({}, ['--help']);
    assert.equal(code, 0);
    for (const name of [
      'HTTP_PORT',
      'UDP_PORT',
      'BIND',
      'PUBLIC_IPS',
      'RECORD',
      'RECORDINGS_DIR',
      'PUBLISH_TOKEN',
      'PLAY_TOKEN',
      'FFMPEG_PATH',
      'LOG_LEVEL',
      'TLS_CERT',
      'TLS_KEY',
    ]) {
      assert.match(output, new RegExp(`${name} / --${name.toLowerCase().replace(/_/g, '-')}`));
    }
  });
});
