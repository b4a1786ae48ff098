// The container's HEALTHCHECK: is the HTTP port answering? Plain JS, run by node
// (the image has no curl). HTTPS when TLS_CERT is set; the certificate is for the
// public name, not 127.0.0.1, so it is not verified here: this checks liveness only.
'use strict';
const tls = Boolean(process.env.TLS_CERT);
const client = require(tls ? 'node:https' : 'node:http');
const port = process.env.HTTP_PORT || '8080';
const bind = process.env.BIND || '0.0.0.0';
const host = bind === '0.0.0.0' || bind === '::' ? '127.0.0.1' : bind;
// With PLAY_TOKEN set, /api/rooms wants it like every viewer read.
const headers = process.env.PLAY_TOKEN ? { Authorization: `Bearer ${process.env.PLAY_TOKEN}` } : {};
const req = client.get({ host, port, path: '/api/rooms', headers, timeout: 4000, rejectUnauthorized: false }, (res) => {
  res.resume();
  // Guarded by JWTs, stream keys or a hook, which a health check has no credential for,
  // onecast answers 401 or 403: it is answering, which is all this checks.
  process.exit([200, 401, 403].includes(res.statusCode) ? 0 : 1);
});
req.on('timeout', () => req.destroy(new Error('timeout')));
req.on('error', () => process.exit(1));
