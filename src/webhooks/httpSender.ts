// One webhook attempt: the event's JSON POSTed to WEBHOOK_URL, signed when WEBHOOK_SECRET
// is set. The signature (README, Webhooks) is HMAC-SHA256 over "{unix seconds}.{body}",
// made anew on every attempt, so a receiver can refuse what is too old (a replay) and
// still accept a late retry.
import { createHmac } from 'node:crypto';
import type { Clock } from '../recorder/clock';
import type { Attempt } from './deliveryQueue';

export const SIGNATURE_HEADER = 'Onecast-Signature';

/** The Onecast-Signature header's value for `body` sent at `unixSeconds`: "t=<unix seconds>,v1=<hex HMAC-SHA256>". */
export function signatureHeader(secret: string, unixSeconds: number, body: string): string {
  const mac = createHmac('sha256', secret).update(`${unixSeconds}.${body}`).digest('hex');
  return `t=${unixSeconds},v1=${mac}`;
}

/**
 * POSTs each delivery's body to `url`: a 2xx delivers it; any other status (redirects
 * are not followed), a network error or an abort is a failed attempt.
 */
export function httpAttempt(url: string, secret: string | undefined, clock: Clock): Attempt {
  return async (delivery, signal) => {
    const headers: Record<string, string> = { 'Content-Type': 'application/json', 'User-Agent': 'onecast' };
    if (secret !== undefined) headers[SIGNATURE_HEADER] = signatureHeader(secret, Math.floor(clock.now() / 1000), delivery.body);
    try {
      const res = await fetch(url, { method: 'POST', headers, body: delivery.body, signal, redirect: 'manual' });
      // The answer's body is of no interest, however large: let go of it, and of the connection with it.
      await res.body?.cancel().catch(() => undefined);
      return res.status >= 200 && res.status < 300 ? { ok: true } : { ok: false, error: `HTTP ${res.status}` };
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause?.code;
      return { ok: false, error: cause !== undefined ? `${String(error)} (${cause})` : String(error) };
    }
  };
}
