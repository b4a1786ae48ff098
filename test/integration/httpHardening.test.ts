// The HTTP server's own defences: security headers on every response,
// pages with no inline script (so the Content-Security-Policy needs no 'unsafe-inline'),
// a client that trickles its headers cut off by the headers timeout, and a cap on
// connections.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import request from 'supertest';
import { HTTP_SERVER_OPTIONS } from '../../src/http/serverLimits';
import { startServer, type TestServer } from '../support/server';

const PAGES = path.resolve(__dirname, '..', '..', 'dist', 'pages');

function htmlFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? htmlFiles(path.join(dir, e.name)) : e.name.endsWith('.html') ? [path.join(dir, e.name)] : [],
  );
}

/** Resolves when the server closes the socket, with what it sent; the socket is the caller's to write to. */
function closedByServer(socket: net.Socket): Promise<string> {
  let received = '';
  socket.on('data', (d: Buffer) => (received += d.toString('latin1')));
  return new Promise((resolve) => socket.once('close', () => resolve(received)));
}

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => resolve(socket));
    socket.once('error', reject);
  });
}

describe('HTTP hardening', function () {
  this.timeout(60_000);
  let server: TestServer;

  before(async () => {
    server = await startServer();
  });

  after(() => server?.close());

  it('sends CSP (frame-ancestors none), nosniff and no-referrer with pages, files, the API and problems', async () => {
    const http = request(server.url);
    for (const target of ['/', '/whip/', '/whep/', '/home.js', '/vendor/hls.min.js', '/api/rooms', '/api/recordings', '/nothing-here', '/metrics']) {
      const res = await http.get(target);
      assert.ok(res.status === 200 || res.status === 404, `${target}: ${res.status}`);
      const csp = String(res.headers['content-security-policy']);
      assert.match(csp, /(^|; )default-src 'self'(;|$)/, target);
      assert.match(csp, /(^|; )frame-ancestors 'none'(;|$)/, target);
      assert.match(csp, /(^|; )script-src 'self'(;|$)/, `${target}: no inline script allowed`);
      assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
      assert.equal(res.headers['x-content-type-options'], 'nosniff', target);
      assert.equal(res.headers['referrer-policy'], 'no-referrer', target);
    }
  });

  it('builds pages with no inline script, event handler attribute or inline style', () => {
    const files = htmlFiles(PAGES);
    assert.ok(files.length >= 3, `the built pages are in ${PAGES}`);
    for (const file of files) {
      const html = readFileSync(file, 'utf8');
      for (const tag of html.match(/<script\b[^>]*>/gi) ?? []) assert.match(tag, /\ssrc=/, `${path.relative(PAGES, file)}: ${tag} has no src`);
      assert.doesNotMatch(html, /<script\b[^>]*>[^<\s]/i, `${path.relative(PAGES, file)}: a script with a body`);
      assert.doesNotMatch(html, /\son[a-z]+\s*=/i, `${path.relative(PAGES, file)}: an inline event handler`);
      assert.doesNotMatch(html, /<style\b|\sstyle\s*=/i, `${path.relative(PAGES, file)}: an inline style`);
      assert.doesNotMatch(html, /javascript:/i, path.relative(PAGES, file));
    }
  });

  it('cuts off a client that sends its headers a byte at a time (slowloris) at the headers timeout', async () => {
    const socket = await connect(server.server.httpPort);
    const closed = closedByServer(socket);
    let open = true;
    void closed.then(() => (open = false));
    socket.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    // At most 25 s of headers, a byte every 250 ms: longer than the 10 s headers timeout,
    // shorter than Node's default 60 s (and its 30 s check interval), which let it through.
    const header = `X-Slow: ${'a'.repeat(100)}\r\n`;
    let sent = 0;
    while (open && sent < header.length) {
      socket.write(header[sent++]!);
      await new Promise((r) => setTimeout(r, 250));
    }
    assert.equal(open, false, `the server was still reading headers after ${sent} bytes`);
    assert.match(await closed, /^HTTP\/1\.1 408 /, 'the server says why: 408 Request Timeout');
    console.log(`      cut off after ${sent} header bytes (${(sent * 0.25).toFixed(1)} s)`);
    assert.ok(sent < header.length);
    // Meanwhile, and afterwards, others are served.
    assert.equal((await request(server.url).get('/api/rooms')).status, 200);
  });

  it('keeps an event stream open past the request timeout: Node times the request, not the response', async () => {
    // The server's options with the request timeout cut to 1 s (30 s would make a slow test).
    const sse = http.createServer({ ...HTTP_SERVER_OPTIONS, requestTimeout: 1_000, headersTimeout: 1_000 }, (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/event-stream' });
      res.flushHeaders();
      const beat = setInterval(() => res.write(': keep-alive\n\n'), 250);
      res.on('close', () => clearInterval(beat));
    });
    await new Promise<void>((resolve) => sse.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = sse.address() as net.AddressInfo;
      let chunks = 0;
      let closed = false;
      const req = http.get(`http://127.0.0.1:${port}/`, (res) => {
        res.on('data', () => chunks++);
        res.on('close', () => (closed = true));
      });
      await new Promise((r) => setTimeout(r, 3_000));
      assert.equal(closed, false, 'the stream is still open three request timeouts later');
      assert.ok(chunks >= 8, `events kept coming (${chunks})`);
      req.destroy();
    } finally {
      sse.closeAllConnections();
      await new Promise((resolve) => sse.close(resolve));
    }
  });

  it('closes connections past HTTP_MAX_CONNECTIONS at once, and serves again when some end', async () => {
    const capped = await startServer({ HTTP_MAX_CONNECTIONS: '3' });
    const port = capped.server.httpPort;
    const held: net.Socket[] = [];
    try {
      for (let i = 0; i < 3; i++) held.push(await connect(port));
      // Node counts a connection once accepted: let the server see the three.
      await new Promise((r) => setTimeout(r, 200));
      const extra = await connect(port);
      const refused = closedByServer(extra);
      extra.write('GET /api/rooms HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
      assert.equal(await refused, '', 'the fourth connection is closed without an answer');
      held.pop()!.destroy();
      await new Promise((r) => setTimeout(r, 200));
      assert.equal((await request(capped.url).get('/api/rooms')).status, 200);
    } finally {
      for (const s of held) s.destroy();
      await capped.close();
    }
  });
});
