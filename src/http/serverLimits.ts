// How long the HTTP server waits for a client, and how many connections it keeps:
// a client that trickles its headers (slowloris) or its body, or opens connections
// by the thousand, must not hold the server's sockets.
import type http from 'node:http';
import type { Config } from '../config';

/**
 * - headersTimeout 10 s: a browser, OBS or curl sends its headers in one go; a client
 *   still sending them after 10 s is cut off (408).
 * - requestTimeout 30 s: the whole request, body included (an SDP offer is a few kB).
 *   Node measures it until the request has arrived, not while the response goes on, so
 *   event streams and long downloads are not cut.
 * - keepAliveTimeout 5 s: an idle connection between requests (Node's default, stated).
 * - connectionsCheckingInterval 1 s: how often Node looks for connections past those
 *   timeouts (its default, 30 s, would let a slowloris client hold a socket for 40 s).
 */
export const HTTP_SERVER_OPTIONS: http.ServerOptions = {
  headersTimeout: 10_000,
  requestTimeout: 30_000,
  keepAliveTimeout: 5_000,
  connectionsCheckingInterval: 1_000,
};

/** HTTP_MAX_CONNECTIONS: past it, Node closes a new connection as soon as it is accepted. */
export function limitConnections(server: http.Server, config: Config): void {
  if (config.httpMaxConnections > 0) server.maxConnections = config.httpMaxConnections;
}
