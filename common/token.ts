// The tokens the pages send as `Authorization: Bearer`: typed into a page's Token
// field, or handed out in a link (`/?token=…`, `/whep/?room=demo&token=…`). A token
// from the URL is kept in sessionStorage (this tab only) and taken out of the address
// bar at once, so it stays out of history, bookmarks and screenshots; the server's
// Referrer-Policy keeps URLs out of Referer headers.

/** PLAY_TOKEN for the home and player pages, PUBLISH_TOKEN (or ADMIN_TOKEN) for the publisher page. */
export type TokenKind = 'play' | 'publish';

const KEY: Record<TokenKind, string> = { play: 'onecast.playToken', publish: 'onecast.publishToken' };

/** The page's token: `?token=` (moved out of the URL), else the one this tab remembers, else ''. */
export function pageToken(kind: TokenKind): string {
  const url = new URL(location.href);
  const given = url.searchParams.get('token');
  if (given !== null) {
    url.searchParams.delete('token');
    history.replaceState(history.state, '', url.pathname + url.search + url.hash);
    rememberToken(kind, given);
    return given;
  }
  return storage()?.getItem(KEY[kind]) ?? '';
}

export function rememberToken(kind: TokenKind, token: string): void {
  if (token === '') storage()?.removeItem(KEY[kind]);
  else storage()?.setItem(KEY[kind], token);
}

/** sessionStorage, or null where the browser refuses it (some privacy modes): the token then lasts as long as the page. */
function storage(): Storage | null {
  try {
    return window.sessionStorage;
  } catch {
    return null;
  }
}
