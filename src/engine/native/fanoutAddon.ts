// The native fan-out (fanout.c, built into build/fanout.node at install by
// scripts/buildNative.cjs) as TypeScript sees it: its functions' types, and loading it
// with a one-line reason when it is not there, so that start-up can say which path runs.
import type dgram from 'node:dgram';
import { existsSync } from 'node:fs';
import path from 'node:path';

/** Where scripts/buildNative.cjs puts the addon: build/ at the repository root (from src/ and from dist/ alike). */
export const FANOUT_ADDON_FILE = path.join(__dirname, '..', '..', '..', 'build', 'fanout.node');

/** One viewer track's outbound state: RtpRewriter, SrtpSender and the Forwarder's keyframe gate. */
export interface FanoutOutput {
  readonly __brand: 'FanoutOutput';
}

/** The outputs (viewers) of one published track. */
export interface FanoutGroup {
  readonly __brand: 'FanoutGroup';
}

export interface FanoutOutputOptions {
  ssrc: number;
  payloadType: number;
  clockRate: number;
  mid: string;
  /** One-byte header extension id (1-14) for the mid, if the viewer negotiated it; the mid is then 1-16 bytes. */
  midExtensionId?: number;
  /** Video waits for a keyframe at its start and after every change of source. */
  video: boolean;
}

export interface FanoutOutputState {
  /** The source SSRC the viewer's numbering follows (RtpRewriter.sourceSsrc()). */
  sourceSsrc?: number;
  timestampOffset?: number;
  /** RTP packets and payload octets rewritten (for Sender Reports). */
  packetsSent: number;
  octetsSent: number;
  waitingForKeyframe: boolean;
  /** nowMs of the first datagram the kernel took. */
  firstPacketAt?: number;
  /** Datagrams the kernel took, and their RTP bytes before encryption (header + payload, as the Forwarder counts). */
  packets: number;
  bytes: number;
  skippedBeforeKeyframe: number;
  /** Datagrams not sent: the socket's buffer was full, or the send failed. */
  sendDrops: number;
}

/** Counters of the whole addon instance. */
export interface FanoutStats {
  /** sendmmsg system calls. */
  sendCalls: number;
  datagrams: number;
  bytes: number;
  /** Datagrams dropped on a full socket buffer (EAGAIN, EWOULDBLOCK, ENOBUFS): never queued, never retried. */
  droppedFull: number;
  /** Datagrams whose send failed otherwise (e.g. ECONNREFUSED): skipped, the rest of the batch still sent. */
  sendErrors: number;
  /** Packets the RTP parser refused (as readRtp does), or longer than any UDP datagram. */
  malformed: number;
}

/** forward()'s result bits. */
export const FORWARD_KEYFRAME_NEEDED = 1;
export const FORWARD_MALFORMED = 2;

export interface FanoutAddon {
  /** Throws a TypeError naming the option that is wrong. */
  createOutput(options: FanoutOutputOptions): FanoutOutput;
  /** SrtpSender's constructor: profile 1 (AES_CM_128_HMAC_SHA1_80, 14-byte salt) or 7 (AEAD_AES_128_GCM, 12-byte salt); resets the rollover counter. */
  setKeys(output: FanoutOutput, profile: number, masterKey: Uint8Array, masterSalt: Uint8Array): void;
  /**
   * Sends through the UDP socket `fd` to `address` (an IP literal; an IPv4 peer of a dual-stack
   * IPv6 socket as ::ffff:a.b.c.d). Throws unless fd is a UDP socket of the address's family.
   * The fd is used as long as the route is set: clear it before the socket closes.
   */
  setRoute(output: FanoutOutput, fd: number, address: string, port: number): void;
  clearRoute(output: FanoutOutput): void;
  createGroup(): FanoutGroup;
  /** Throws if the output is in another group. A group does not keep its outputs alive: a collected output leaves its group. */
  groupAdd(group: FanoutGroup, output: FanoutOutput): void;
  /** A no-op for an output not in the group. */
  groupRemove(group: FanoutGroup, output: FanoutOutput): void;
  /**
   * A live packet (plain RTP) to every output of the group, as Forwarder.forward does for
   * each: the keyframe gate, the rewrite, then, with keys and a route, SRTP and one sendmmsg
   * per run of outputs on the same fd. Returns FORWARD_* bits: KEYFRAME_NEEDED when an output
   * held the packet back waiting for a keyframe, MALFORMED when the packet was refused.
   */
  forward(group: FanoutGroup, packet: Uint8Array, keyframeStart: boolean, nowMs: number): number;
  /** One packet (a retransmission) without the keyframe gate; true if the kernel took the datagram. */
  send(output: FanoutOutput, packet: Uint8Array, nowMs: number): boolean;
  /**
   * A joining viewer's cached keyframe group: follows the first packet's source and opens the
   * gate, then sends them all batched. Returns the number of datagrams the kernel took.
   */
  sendGroup(output: FanoutOutput, packets: readonly Uint8Array[], nowMs: number): number;
  /** The datagram send() would send, returned instead (undefined for a malformed packet); throws without keys. */
  protect(output: FanoutOutput, packet: Uint8Array, nowMs: number): Buffer | undefined;
  outputState(output: FanoutOutput): FanoutOutputState;
  /** RtpRewriter.toSourceSeq: a viewer's NACKed sequence number as the current source's, if it produced it. */
  toSourceSeq(output: FanoutOutput, viewerSeq: number): number | undefined;
  stats(): FanoutStats;
}

/** The addon, or why it cannot be used (in a sentence for the start-up line). */
export function loadFanoutAddon(file = FANOUT_ADDON_FILE): { addon: FanoutAddon } | { reason: string } {
  if (!existsSync(file)) return { reason: `${file} is not built (npm install builds it when a C compiler is present)` };
  try {
    const module = { exports: {} };
    process.dlopen(module, file);
    return { addon: module.exports as FanoutAddon };
  } catch (error) {
    return { reason: `${file} did not load: ${error instanceof Error ? error.message : String(error)}` };
  }
}

/**
 * The file descriptor of a bound UDP socket, for setRoute. Node does not expose it: this reads
 * libuv's handle from the socket's internal state (the property keyed by the symbol described
 * "state symbol", where dgram has kept it since Node 12; the public-looking `_handle` getter
 * reads the same handle but prints a deprecation warning). The handle's `fd` is the socket's
 * descriptor on POSIX systems. Undefined when it is not a non-negative integer (unbound,
 * closed, another platform, or a Node that keeps it elsewhere).
 */
export function socketFd(socket: dgram.Socket): number | undefined {
  const state = Object.getOwnPropertySymbols(socket).find((s) => s.description === 'state symbol');
  const handle = state !== undefined ? (socket as unknown as Record<symbol, { handle?: { fd?: unknown } | null } | undefined>)[state]?.handle : undefined;
  const fd = handle?.fd;
  return typeof fd === 'number' && Number.isInteger(fd) && fd >= 0 ? fd : undefined;
}
