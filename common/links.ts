// RFC 8288 Link headers as onecast writes them: `<target>; name=value; name="quoted"`,
// several joined by commas. Shared by the pages and the tests (no DOM, no Node).

export interface Link {
  /** As written: relative targets are the caller's to resolve. */
  target: string;
  /** Parameter names lower-cased; quoted values unquoted (RFC 9110 §5.6.4). */
  params: Record<string, string>;
}

// <target> then ;name=value or ;name="quoted \" value" parameters, up to the next comma
// (a quoted value may hold commas, as events="a,b" and TURN passwords do).
const LINK = /\s*<([^>]*)>((?:\s*;\s*[^\s=;,]+\s*=\s*(?:"(?:[^"\\]|\\.)*"|[^;,]*))*)\s*(?:,|$)/y;
const PARAM = /;\s*([^\s=;,]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;,]*)/g;

/** The links of a Link header (several headers arrive joined by ", "). Throws on anything else. */
export function parseLinks(header: string | null | undefined): Link[] {
  const links: Link[] = [];
  if (!header) return links;
  LINK.lastIndex = 0;
  while (LINK.lastIndex < header.length) {
    const m = LINK.exec(header);
    if (m === null) throw new Error(`unparsable Link header: ${header}`);
    const params: Record<string, string> = {};
    for (const p of m[2]!.matchAll(PARAM)) {
      const raw = p[2]!.trim();
      params[p[1]!.toLowerCase()] = raw.startsWith('"') ? raw.slice(1, -1).replace(/\\(.)/g, '$1') : raw;
    }
    links.push({ target: m[1]!, params });
  }
  return links;
}
