// Whether the upstream's room is still published, as a WHEP player learns it: the
// server-sent-events extension its 201 announced (Link rel=…:server-sent-events), asked for
// "active" and "inactive" only. The relay ends when the upstream says "inactive", so the
// edge's viewers see the room go inactive too, and it is pulled again once it is published.

const EVENTS_REL = 'urn:ietf:params:whep:ext:core:server-sent-events';
/** A line of the stream longer than this is not one onecast writes: the stream is dropped. */
const MAX_LINE = 4_096;

/** The events URL a WHEP 201's Link header announces, resolved against the POST's URL. */
export function eventsUrl(link: string | null, base: string): string | undefined {
  for (const value of (link ?? '').split(/,(?=\s*<)/)) {
    const m = /^\s*<([^>]*)>(.*)$/.exec(value);
    if (m !== null && /;\s*rel="?([^";]*)"?/.exec(m[2]!)?.[1] === EVENTS_REL) return new URL(m[1]!, base).toString();
  }
  return undefined;
}

/**
 * Follows the upstream room's state until `signal` aborts: calls `inactive` when the
 * upstream says its publish ended. Resolves true when the stream ended (onecast ends it
 * with the session it belongs to), false when it could not be opened (then media and
 * consent are what tell that the upstream went away).
 */
export async function followUpstream(entry: string, token: string, signal: AbortSignal, inactive: () => void): Promise<boolean> {
  const auth = { Authorization: `Bearer ${token}` };
  const created = await fetch(entry, { method: 'POST', headers: { ...auth, 'Content-Type': 'application/json' }, body: '["active","inactive"]', signal });
  await created.body?.cancel();
  const location = created.headers.get('location');
  if (created.status !== 201 || location === null) return false;
  const res = await fetch(new URL(location, entry), { headers: { ...auth, Accept: 'text/event-stream' }, signal });
  if (res.status !== 200 || res.body === null) {
    await res.body?.cancel();
    return false;
  }
  const decoder = new TextDecoder();
  let pending = '';
  for await (const chunk of res.body) {
    pending += decoder.decode(chunk, { stream: true });
    const lines = pending.split('\n');
    pending = lines.pop()!;
    // Leaving the loop cancels the stream.
    if (pending.length > MAX_LINE) return false;
    if (lines.some((line) => line.trim() === 'event: inactive')) inactive();
  }
  return true;
}
