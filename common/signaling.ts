// The client half of WHIP (RFC 9725) and WHEP: POST the peer connection's offer to
// the endpoint, apply the answer, keep the session resource to DELETE at the end.
import { authorization, problemOf } from './http';

/** One `Link` header entry: `<url>; rel="..."; key="value"`. */
export interface Link {
  url: string;
  params: Record<string, string>;
}

export interface Negotiated {
  /** The session resource (absolute), for DELETE. */
  resource: string;
  /** The 201's Link headers (ICE servers, extensions such as WHEP's server-sent events). */
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
  return { resource, links: parseLinks(res.headers.get('Link'), resource) };
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

/** Parses a Link header (RFC 8288) as servers write it; URLs are resolved against `base`. */
export function parseLinks(header: string | null, base: string): Link[] {
  if (!header) return [];
  const links: Link[] = [];
  // Split on commas that start a new `<...>` entry (parameter values may hold commas, as events="a,b" does).
  for (const entry of header.split(/,(?=\s*<)/)) {
    const match = /^\s*<([^>]*)>(.*)$/.exec(entry);
    if (!match) continue;
    const params: Record<string, string> = {};
    for (const param of match[2]!.matchAll(/;\s*([^=;\s]+)\s*(?:=\s*(?:"([^"]*)"|([^;]*)))?/g)) {
      params[param[1]!.toLowerCase()] = (param[2] ?? param[3] ?? '').trim();
    }
    links.push({ url: new URL(match[1]!, base).href, params });
  }
  return links;
}
