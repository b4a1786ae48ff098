// The server's logs as an operator reads them: JSON lines on stderr, LOG_LEVEL
// choosing how much, and session lines that name their room and session.
import assert from 'node:assert/strict';
import { loadMedia } from '../clients/media';
import { ObsLikePublisher, cleanupDataChannel } from '../clients/obsPublisher';
import { freePort, spawnServer, type ServerProcess } from '../support/process';
import { waitFor } from '../support/server';

interface LogLine {
  level: string;
  time: string;
  msg: string;
  [field: string]: unknown;
}

/** Every line of output as JSON; a line that is not JSON fails the test. */
function logLines(output: string): LogLine[] {
  return output
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const parsed = JSON.parse(l) as LogLine;
      assert.equal(typeof parsed.msg, 'string', l);
      assert.ok(!Number.isNaN(Date.parse(parsed.time)), `an ISO time: ${l}`);
      return parsed;
    });
}

async function start(env: Record<string, string>, waitForHttp = false): Promise<{ proc: ServerProcess; url: string; stdout: () => string }> {
  const httpPort = await freePort();
  const url = `http://127.0.0.1:${httpPort}`;
  const proc = await spawnServer(
    { HTTP_PORT: String(httpPort), UDP_PORT: String(await freePort()), BIND: '127.0.0.1', PUBLIC_IPS: '127.0.0.1', ...env },
    [],
    waitForHttp ? `${url}/api/rooms` : undefined,
  );
  // Logs belong on stderr; stdout is for --help alone.
  let stdout = '';
  proc.child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  return { proc, url, stdout: () => stdout };
}

describe('logs', function () {
  this.timeout(60_000);

  after(() => cleanupDataChannel());

  it('LOG_LEVEL=debug: a line per HTTP request, and session lines with room and session ids, all JSON on stderr', async () => {
    const { proc, url, stdout } = await start({ LOG_LEVEL: 'debug' });
    try {
      assert.equal((await fetch(`${url}/api/rooms`)).status, 200);
      const request = await waitFor('the request logged', () => logLines(proc.output()).find((l) => l.msg === 'http request' && l['path'] === '/api/rooms'));
      assert.deepEqual({ level: request.level, method: request['method'], status: request['status'] }, { level: 'debug', method: 'GET', status: 200 });

      const publisher = await ObsLikePublisher.start({ endpoint: `${url}/whip/logged`, media: await loadMedia(), stripCandidates: true });
      await publisher.waitConnected(10_000);
      assert.equal(await publisher.stop(), 200);
      const sessionId = publisher.resourceUrl.split('/').at(-1)!;
      const closed = await waitFor('the session closed line', () => logLines(proc.output()).find((l) => l.msg === 'session closed'));
      const lines = logLines(proc.output()).filter((l) => l['session'] === sessionId);
      assert.deepEqual(
        lines.map((l) => l.msg),
        ['session created', 'session connected', 'session closed'],
      );
      for (const l of lines) assert.deepEqual({ level: l.level, room: l['room'], kind: l['kind'] }, { level: 'info', room: 'logged', kind: 'publish' });
      assert.equal(closed['reason'], 'deleted');
    } finally {
      assert.equal(await proc.stop(), 0);
    }
    assert.equal(stdout(), '', 'nothing on stdout');
    assert.ok(logLines(proc.output()).some((l) => l.msg === 'shutting down' && l.level === 'info'));
  });

  it('LOG_LEVEL=warn hides info and debug lines and keeps warnings', async () => {
    const { proc, url } = await start({ LOG_LEVEL: 'warn', FFMPEG_PATH: '/nonexistent/ffmpeg' }, true);
    await fetch(`${url}/api/rooms`);
    assert.equal(await proc.stop(), 0);
    const lines = logLines(proc.output());
    assert.ok(
      lines.some((l) => l.level === 'warn' && l.msg.startsWith('recording is off')),
      proc.output(),
    );
    assert.deepEqual(
      lines.filter((l) => l.level !== 'warn' && l.level !== 'error'),
      [],
      'no info or debug line ("onecast listening", "shutting down", requests)',
    );
  });

  it('LOG_LEVEL=silent writes nothing', async () => {
    const { proc, url } = await start({ LOG_LEVEL: 'silent', FFMPEG_PATH: '/nonexistent/ffmpeg' }, true);
    await fetch(`${url}/api/rooms`);
    assert.equal(await proc.stop(), 0);
    assert.equal(proc.output(), '');
  });
});
