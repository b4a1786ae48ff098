// What the benchmarks measure: a process's CPU time and resident memory, read from
// /proc (Linux) from outside it, and percentiles of the figures they collect.
import { readFileSync } from 'node:fs';

/** user+sys CPU seconds of a process, from /proc/<pid>/stat (clock ticks). */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return ticks / 100; // USER_HZ is 100 on Linux
}

/** Resident set size of a process in bytes, from /proc/<pid>/status (VmRSS). */
export function rssBytes(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}

/** The p-th percentile (0-100) of an ascending list; NaN when it is empty. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/**
 * The kernel's receive queue (bytes waiting) and drop count of the UDP sockets bound to
 * local `port`, from /proc/net/udp and udp6: datagrams a busy process has not read yet,
 * and those the kernel discarded because that queue was full.
 */
export function udpSocketStats(port: number): { rxQueueBytes: number; drops: number } {
  const stats = { rxQueueBytes: 0, drops: 0 };
  for (const table of ['/proc/net/udp', '/proc/net/udp6']) {
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 13 || parseInt(cols[1]!.split(':')[1]!, 16) !== port) continue;
      stats.rxQueueBytes += parseInt(cols[4]!.split(':')[1]!, 16);
      stats.drops += Number(cols[12]);
    }
  }
  return stats;
}
