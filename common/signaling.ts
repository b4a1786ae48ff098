// The client half of WHIP (RFC 9725) and WHEP: ask the endpoint for its ICE servers,
// POST the peer connection's offer to it, apply the answer, keep the session resource
// to DELETE at the end.
import { authorization, problemOf } from './http';
import { parseLinks, type Link } from './links';

export type { Link };

export interface Negotiated {
  /** The session resource (absolute), for DELETE. */
  resource: string;
  /** The 201's Link headers, targets made absolute (extensions such as WHEP's server-sent events). */
  links: Link[];
}

/**
 * Offers `pc`'s transceivers to `endpoint` and applies the answer. Throws an HttpProblem
 * for any answer but 201 (409 + retryAfter: the room is busy or, for WHEP, not published).
 */
export async function negotiate(pc: RTCPeerConnection, endpoint: string, token: string): Promise<Negotiated> {
  // onecast is ICE-lite and learns the client's address from its checks: no need to wait for gathering.
  await pc.setLocalDescription(await pc.createOffer());
  const res = await fetch(endpoint, {
    method: 'POST',
    headers: { 'Content-Type': 'application/sdp', ...authorization(token) },
    body: pc.localDescription!.sdp,
  });
  if (res.status !== 201) throw await problemOf(res);
  const location = res.headers.get('Location');
  if (location === null) throw new Error('The server answered 201 without a Location header.');
  const resource = new URL(location, new URL(endpoint, window.location.href)).href;
  await pc.setRemoteDescription({ type: 'answer', sdp: await res.text() });
  return { resource, links: linksOf(res, resource) };
}

/**
 * The STUN/TURN servers `endpoint` offers (RFC 9725 §4.6: Links on a non-preflight
 * OPTIONS; same origin, so no preflight). None when it offers none or cannot be asked:
 * onecast is ICE-lite with host candidates, which is enough unless the client's network
 * blocks UDP to it.
 */
export async function iceServers(endpoint: string, token: string): Promise<RTCIceServer[]> {
  let links: Link[];
  try {
    const res = await fetch(endpoint, { method: 'OPTIONS', headers: authorization(token) });
    await res.arrayBuffer(); // read to the end, or the browser reports the request as aborted
    links = res.ok ? linksOf(res, res.url) : [];
  } catch {
    return [];
  }
  const servers: RTCIceServer[] = [];
  for (const { target, params } of links) {
    if (params['rel'] !== 'ice-server') continue;
    if (!/^turns?:/i.test(target)) {
      servers.push({ urls: target });
    } else if (params['username'] !== undefined && params['credential'] !== undefined && (params['credential-type'] ?? 'password') === 'password') {
      servers.push({ urls: target, username: params['username'], credential: params['credential'] });
    }
    // A TURN server without password credentials is left out: RTCPeerConnection refuses it.
  }
  return servers;
}

/** Ends a session. `keepalive` lets the request outlive a closing page. */
export async function endSession(resource: string, token: string, keepalive = false): Promise<void> {
  try {
    // Read to the end: a response left unread is cut off, and the browser reports the request as aborted.
    await (await fetch(resource, { method: 'DELETE', headers: authorization(token), keepalive })).arrayBuffer();
  } catch {
    // Nothing to do: the server ends the session itself when its consent expires.
  }
}

/** `res`'s Link headers with targets resolved against `base`; none if the header is malformed (they are optional). */
function linksOf(res: Response, base: string): Link[] {
  try {
    return parseLinks(res.headers.get('Link')).map((l) => ({ ...l, target: new URL(l.target, base).href }));
  } catch {
    return [];
  }
}
