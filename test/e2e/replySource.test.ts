// onecast started as a user starts it for a test on one machine: only PUBLIC_IPS=127.0.0.1,
// BIND left at its default 0.0.0.0. Clients on a host that also has a non-loopback
// address (this one: eth0 192.0.2.2) send from that address to the candidate 127.0.0.1;
// a reply leaving the wildcard socket came from 192.0.2.2, which browsers ignore, so
// Chromium never connected. Every reply must come from the address that was asked.
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../support/browser';
import { freePort, spawnServer, type ServerProcess } from '../support/process';
import { waitFor } from '../support/server';
import { stunMessage } from '../clients/stunMessage';
import { openPlayer, playerStats } from '../support/viewerPage';
import type { RoomSummary } from '../../src/http/roomSummary';

/**
 * A local address other than 127.0.0.1 to send checks from. Without a non-loopback
 * address on the host the check still runs, from 127.0.0.2, but there the kernel's own
 * choice of source address is 127.0.0.1 too, so it cannot tell a fix from its absence.
 */
function otherLocalAddress(): string {
  const found = Object.values(networkInterfaces())
    .flat()
    .find((i) => i !== undefined && i.family === 'IPv4' && !i.internal);
  if (found !== undefined) return found.address;
  console.log('      this host has no non-loopback IPv4 address: checking from 127.0.0.2, which cannot show the fault');
  return '127.0.0.2';
}

describe('replies leave from the address that was asked (default BIND, PUBLIC_IPS=127.0.0.1)', function () {
  this.timeout(90_000);
  let proc: ServerProcess;
  let base: string;
  let udpPort: number;

  before(async () => {
    const httpPort = await freePort();
    udpPort = await freePort();
    base = `http://127.0.0.1:${httpPort}`;
    proc = await spawnServer({ HTTP_PORT: String(httpPort), UDP_PORT: String(udpPort), PUBLIC_IPS: '127.0.0.1' });
  });

  after(async () => {
    const code = await proc?.stop();
    assert.equal(code, 0, 'the server exits 0 on SIGTERM');
  });

  it('answers a check sent to 127.0.0.1 from another local address with a Binding Success from 127.0.0.1:UDP_PORT', async () => {
    const offer = readFileSync(path.join(__dirname, '..', 'fixtures', 'sdp', 'obs.sdp'), 'utf8');
    const res = await fetch(`${base}/whip/asked`, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: offer });
    assert.equal(res.status, 201);
    const answer = await res.text();
    const ufrag = /a=ice-ufrag:(\S+)/.exec(answer)![1]!;
    const pwd = /a=ice-pwd:(\S+)/.exec(answer)![1]!;
    const source = otherLocalAddress();
    const client = dgram.createSocket('udp4');
    try {
      await new Promise<void>((resolve) => client.bind(0, source, () => resolve()));
      const reply = new Promise<{ message: Buffer; from: dgram.RemoteInfo }>((resolve) =>
        client.once('message', (message, from) => resolve({ message, from })),
      );
      client.send(stunMessage({ username: `${ufrag}:peer`, password: pwd, useCandidate: true }), udpPort, '127.0.0.1');
      const { message, from } = await Promise.race([
        reply,
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no answer to a valid check in 3 s')), 3_000)),
      ]);
      assert.equal(message.readUInt16BE(0), 0x0101, 'a Binding Success Response');
      assert.deepEqual(
        { address: from.address, port: from.port },
        { address: '127.0.0.1', port: udpPort },
        `the answer to a check from ${source} to 127.0.0.1:${udpPort} comes from there`,
      );
      console.log(`      check ${source} → 127.0.0.1:${udpPort}, answered from ${from.address}:${from.port}`);
    } finally {
      client.close();
      await fetch(new URL(res.headers.get('location')!, base), { method: 'DELETE' });
    }
  });

  it('lets Chromium publish from the whip/ page and the whep/ page play it', async () => {
    const browser: Browser = await launchChromium();
    try {
      const publisher = await browser.newPage();
      await publisher.goto(`${base}/whip/?room=asked`);
      await publisher.click('#start');
      await publisher.waitForFunction(() => document.body.dataset['state'] === 'connected', undefined, { timeout: 15_000 });
      const live = await waitFor(
        'video frames from the Chromium publisher',
        async () => {
          const rooms = (await (await fetch(`${base}/api/rooms`)).json()) as RoomSummary[];
          const room = rooms.find((r) => r.room === 'asked');
          return room?.video && room.video.frames >= 30 ? room : undefined;
        },
        15_000,
      );
      assert.equal(live.publisher?.srtpAuthFailures, 0);
      const player = await openPlayer(browser, base, 'asked');
      const stats = await waitFor(
        '30 frames decoded by the whep/ page',
        async () => {
          const s = await playerStats(player);
          return s.frames >= 30 ? s : undefined;
        },
        // Generous: on a busy 2-core machine one run in the suite waited more than 15 s.
        30_000,
      );
      console.log(`      Chromium published ${live.video!.frames}+ frames; the whep/ page decoded ${stats.frames} (${stats.width}x${stats.height})`);
      await player.close();
      await publisher.close();
    } finally {
      await browser.close();
    }
  });
});
