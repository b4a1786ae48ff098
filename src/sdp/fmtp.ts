// a=fmtp parameters read from an offer and written back into the answer: one spelling rule
// for both directions (keys lower-case, values verbatim, a bare flag kept as a key with value "").

/** Parses a=fmtp parameters ("a=1;B=2;flag") into { a: '1', b: '2', flag: '' } (keys lower-case). */
export function parseFmtp(params: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!params) return out;
  for (const part of params.split(';')) {
    const item = part.trim();
    if (!item) continue;
    const eq = item.indexOf('=');
    if (eq < 0) out[item.toLowerCase()] = '';
    else out[item.slice(0, eq).trim().toLowerCase()] = item.slice(eq + 1).trim();
  }
  return out;
}

/** Writes fmtp parameters back as "k=v;k2=v2" (a key with value "" is written alone). */
export function formatFmtp(fmtp: Record<string, string>): string {
  return Object.entries(fmtp)
    .map(([k, v]) => (v === '' ? k : `${k}=${v}`))
    .join(';');
}
