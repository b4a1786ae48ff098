// What a room's publisher needs of the session its media comes from: the engine's Session
// of a WHIP client, or a relay's pull from another node (src/relay/). Decrypted RTP and RTCP
// come in, feedback RTCP goes back, and its life (connected, closed) is the publish's.
import type { CloseReason, SessionCounters, SessionState } from '../engine/session';

export interface PublisherSession {
  readonly id: string;
  readonly createdAt: number;
  /** When its media path was up (DTLS done), undefined before. */
  readonly connectedAt: number | undefined;
  readonly state: SessionState;
  readonly srtpProfile: string | undefined;
  readonly counters: Readonly<SessionCounters>;
  /** A relay's: the node the media is pulled from (the room is published there); undefined for a WHIP client. */
  readonly relayedFrom?: string;
  on(event: 'rtp' | 'rtcp', listener: (packet: Buffer) => void): unknown;
  once(event: 'connected', listener: () => void): unknown;
  once(event: 'closed', listener: (reason: CloseReason) => void): unknown;
  /** Encrypts and sends a plain RTCP packet toward the source; false while it cannot. */
  sendRtcp(packet: Buffer): boolean;
  close(reason: CloseReason): void;
}
