// What a WebRTC client's connect needs around ICE and DTLS (the relay's, the test clients'):
// a UDP socket connected to the server's candidate, and steps bounded by one deadline.
import type dgram from 'node:dgram';
import { performance } from 'node:perf_hooks';

/**
 * Binds `socket` to an ephemeral port and connects it to ip:port: the kernel then drops
 * datagrams from any other source, and send() needs no address. Loopback candidates are
 * reached from 127.0.0.1.
 */
export function connectUdp(socket: dgram.Socket, ip: string, port: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, ip.startsWith('127.') ? '127.0.0.1' : '0.0.0.0', () => {
      socket.connect(port, ip, () => {
        socket.off('error', reject);
        resolve();
      });
    });
  });
}

/** `work`, or `timeoutError()` once performance.now() passes `deadline`. */
export async function beforeDeadline<T>(work: Promise<T>, deadline: number, timeoutError: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(timeoutError()), Math.max(0, deadline - performance.now()));
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
