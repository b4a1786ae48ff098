// ICE as a full, controlling agent with aggressive nomination against an ICE-lite server's
// host candidate (the relay pulling from onecast, as the test clients do): Binding requests
// with USE-CANDIDATE, and the verified success responses that answer them. The same requests, slower, are the consent checks once ICE succeeded.
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Message, classes, methods, parseMessage } from 'werift';

export const ICE_CHECK_INTERVAL_MS = 50;
export const CONSENT_INTERVAL_MS = 2_500;
/** RFC 8445 §5.1.2.1 priority of a peer-reflexive candidate (type preference 110), component 1. */
const PRFLX_PRIORITY = 110 * 2 ** 24 + 65535 * 2 ** 8 + 255;
/** Transactions nobody answered within this are forgotten. */
const TRANSACTION_LIFETIME_MS = 10_000;

export class IceChecks {
  private readonly tieBreaker = randomBytes(8).readBigUInt64BE();
  private readonly pending = new Map<string, number>();

  constructor(
    private readonly localUfrag: string,
    private readonly remote: { ufrag: string; pwd: Buffer },
  ) {}

  /** A Binding request to send, remembered until answered. */
  request(): Buffer {
    const m = new Message(methods.BINDING, classes.REQUEST);
    m.setAttribute('USERNAME', `${this.remote.ufrag}:${this.localUfrag}`);
    m.setAttribute('PRIORITY', PRFLX_PRIORITY);
    m.setAttribute('ICE-CONTROLLING', this.tieBreaker);
    m.setAttribute('USE-CANDIDATE', null);
    m.addMessageIntegrity(this.remote.pwd);
    m.addFingerprint();
    const now = performance.now();
    if (this.pending.size > 64) for (const [id, at] of this.pending) if (now - at > TRANSACTION_LIFETIME_MS) this.pending.delete(id);
    this.pending.set(Buffer.from(m.transactionId).toString('hex'), now);
    return m.bytes;
  }

  /** True when `data` is a Binding success response to one of our requests, with valid integrity and fingerprint. */
  isAnswer(data: Buffer): boolean {
    const m = parseMessage(data, this.remote.pwd); // undefined unless FINGERPRINT and MESSAGE-INTEGRITY verify
    if (!m || m.messageMethod !== methods.BINDING || m.messageClass !== classes.RESPONSE) return false;
    return this.pending.delete(Buffer.from(m.transactionId).toString('hex'));
  }
}
