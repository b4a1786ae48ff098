// The STUN/TURN servers onecast offers its clients (ICE_SERVERS): read from the
// setting, and written as RFC 9725 §4.6 Link headers. onecast itself is ICE-lite on
// a public address and needs none; clients behind restrictive NATs or firewalls may.
import { isIP } from 'node:net';

export interface IceServer {
  /** The server's URI as RFC 7064/7065 write it (no credentials in it). */
  url: string;
  /** TURN only: long-term credentials (credential-type "password"). */
  username?: string;
  credential?: string;
}

const SERVER_URI = /^(stuns?|turns?):(?:([^@]*)@)?(\[[^\]]*\]|[^:?]*)(?::([^?]*))?(?:\?(.*))?$/i;
const HOST_NAME = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
/** What fits in a quoted-string of an HTTP header without surprises: printable ASCII. */
const PRINTABLE = /^[\x20-\x7e]+$/;

/**
 * One ICE_SERVERS entry: `stun:HOST[:PORT]`, `stuns:…`, or
 * `turn:USER:PASSWORD@HOST[:PORT][?transport=udp|tcp]`, `turns:…`. USER and PASSWORD
 * are percent-decoded (so `%2C` `%3A` `%40` carry `,` `:` `@`). Throws an Error whose
 * message says what is wrong with the entry.
 */
export function parseIceServer(entry: string): IceServer {
  const m = SERVER_URI.exec(entry);
  if (m === null) throw new Error(`"${entry}" is not a stun:, stuns:, turn: or turns: URI`);
  const scheme = m[1]!.toLowerCase();
  const [userinfo, host = '', port, query] = [m[2], m[3], m[4], m[5]];
  const turn = scheme.startsWith('turn');
  const literal = host.startsWith('[') ? host.slice(1, -1) : undefined;
  if (literal !== undefined ? isIP(literal) !== 6 : !HOST_NAME.test(host)) {
    throw new Error(`"${entry}" has no valid host name or address (IPv6 addresses go in brackets)`);
  }
  if (port !== undefined && (!/^\d{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535)) {
    throw new Error(`"${entry}" has a port that is not 1 to 65535`);
  }
  let transport = '';
  if (query !== undefined) {
    const t = /^transport=(udp|tcp)$/i.exec(query);
    if (!turn || t === null) throw new Error(`"${entry}": only TURN URIs take a query, and only ?transport=udp or ?transport=tcp`);
    transport = `?transport=${t[1]!.toLowerCase()}`;
  }
  const url = `${scheme}:${host}${port !== undefined ? `:${port}` : ''}${transport}`;
  if (!turn) {
    if (userinfo !== undefined) throw new Error(`"${entry}": STUN servers take no credentials`);
    return { url };
  }
  // Browsers refuse a TURN server without credentials, so one without them is a mistake.
  const colon = userinfo?.indexOf(':') ?? -1;
  if (userinfo === undefined || colon <= 0 || colon === userinfo.length - 1) {
    throw new Error(`"${entry}": a TURN server needs credentials, written ${scheme}:USER:PASSWORD@${host}`);
  }
  const username = decode(userinfo.slice(0, colon), entry);
  const credential = decode(userinfo.slice(colon + 1), entry);
  return { url, username, credential };
}

function decode(part: string, entry: string): string {
  let value: string;
  try {
    value = decodeURIComponent(part);
  } catch {
    throw new Error(`"${entry}": the credentials have a broken %-escape`);
  }
  if (!PRINTABLE.test(value)) throw new Error(`"${entry}": TURN user names and passwords must be printable ASCII`);
  return value;
}

/** The server as a Link header value (RFC 9725 §4.6, RFC 8288). */
export function iceServerLink(server: IceServer): string {
  let link = `<${server.url}>; rel="ice-server"`;
  if (server.username !== undefined && server.credential !== undefined) {
    link += `; username=${quoted(server.username)}; credential=${quoted(server.credential)}; credential-type="password"`;
  }
  return link;
}

/** An HTTP quoted-string (RFC 9110 §5.6.4). */
function quoted(s: string): string {
  return `"${s.replace(/["\\]/g, (c) => `\\${c}`)}"`;
}
