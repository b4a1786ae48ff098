// STUN Binding messages (RFC 8445 §7.1) as an ICE agent sends them, built with werift,
// for the ICE-lite unit tests and the bad-input and fuzz tests: each option leaves out
// or changes one attribute, so a test can send a message with exactly the defect it wants.
import { Message, classes, methods } from 'werift';

export interface StunOptions {
  /** USERNAME; omitted when undefined. */
  username?: string;
  /** MESSAGE-INTEGRITY key; omitted when undefined. */
  password?: string;
  fingerprint?: boolean;
  useCandidate?: boolean;
  messageClass?: 'request' | 'indication' | 'response';
}

/** A Binding message as an ICE agent sends it, with the attributes the options leave in. */
export function stunMessage(opts: StunOptions): Buffer {
  const messageClass = { request: classes.REQUEST, indication: classes.INDICATION, response: classes.RESPONSE }[opts.messageClass ?? 'request'];
  const m = new Message(methods.BINDING, messageClass);
  if (opts.username !== undefined) m.setAttribute('USERNAME', opts.username);
  m.setAttribute('PRIORITY', 1853817087);
  m.setAttribute('ICE-CONTROLLING', 0x1234n);
  if (opts.useCandidate) m.setAttribute('USE-CANDIDATE', null);
  if (opts.password !== undefined) m.addMessageIntegrity(Buffer.from(opts.password));
  if (opts.fingerprint !== false) m.addFingerprint();
  return m.bytes;
}
