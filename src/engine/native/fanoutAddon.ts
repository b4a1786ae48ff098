// PLACEHOLDER until the addon branch merges (types only, to typecheck the integration).
import type dgram from 'node:dgram';
export type NativeOutput = { readonly __output: true };
export type NativeGroup = { readonly __group: true };
export interface OutputState {
  sourceSsrc: number | undefined;
  timestampOffset: number | undefined;
  packetsSent: number;
  octetsSent: number;
  waitingForKeyframe: boolean;
  firstPacketAt: number | undefined;
  packets: number;
  bytes: number;
  datagrams: number;
  wireBytes: number;
  skippedBeforeKeyframe: number;
  sendDrops: number;
}
export interface FanoutAddon {
  createOutput(o: { ssrc: number; payloadType: number; clockRate: number; mid: string; midExtensionId?: number; video: boolean }): NativeOutput;
  setKeys(o: NativeOutput, profile: number, key: Buffer, salt: Buffer): void;
  setRoute(o: NativeOutput, fd: number, address: string, port: number): void;
  clearRoute(o: NativeOutput): void;
  createGroup(): NativeGroup;
  groupAdd(g: NativeGroup, o: NativeOutput): void;
  groupRemove(g: NativeGroup, o: NativeOutput): void;
  forward(g: NativeGroup, packet: Buffer, keyframeStart: boolean, now: number): number;
  send(o: NativeOutput, packet: Buffer, now: number): boolean;
  sendGroup(o: NativeOutput, packets: Buffer[], now: number): number;
  outputState(o: NativeOutput): OutputState;
  toSourceSeq(o: NativeOutput, seq: number): number | undefined;
}
export function loadFanoutAddon(): { addon: FanoutAddon } | { reason: string } {
  return { reason: 'placeholder' };
}
export function socketFd(socket: dgram.Socket): number | undefined {
  const fd = (socket as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}
