// `npm run bench -- --attack --only sessions`: the anonymous session flood against
// a forked server with the default limits and a PUBLISH_TOKEN. 8 loops POST WHEP offers
// from 127.0.0.1 and never do ICE; meanwhile, once a second, a publisher with the token
// (from the same address) and a viewer from 127.0.0.2 each POST and DELETE. Prints what
// the flood got, what the legitimate clients got, and the server's sessions, CPU and
// heap before, during and after (after: once the ICE deadline has closed the flood's).
import http from 'node:http';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { LiteClient } from '../clients/lite';
import { cpuSeconds } from './measure';
import { forkSoakServer, type SoakServer } from '../support/soakServer';
import { requestFrom } from '../support/http';

const TOKEN = 'bench-flood-token';
const LOOPS = 8;
const offer = (name: string) => readFileSync(path.join(__dirname, '..', 'fixtures', 'sdp', name), 'utf8');

interface Phase {
  name: string;
  seconds: number;
  cpuPercent: number;
  heapMb: number;
  sessions: number;
  publisher: string;
  viewer: string;
}

export async function sessionFlood(argv: readonly string[]): Promise<void> {
  const i = argv.indexOf('--seconds');
  const seconds = i === -1 ? 20 : Number(argv[i + 1]);
  // The soak server lifts the connecting-session limits for its clients; this puts the defaults back.
  const server = await forkSoakServer({ PUBLISH_TOKEN: TOKEN, MAX_PENDING: '256', MAX_PENDING_PER_ADDRESS: '32' });
  const stage = await LiteClient.connect({ url: `${server.base}/whip/stage`, role: 'publish', token: TOKEN });
  const recvonly = offer('chromium-recvonly.sdp');
  const obs = offer('obs.sdp');
  const phases: Phase[] = [];
  try {
    phases.push(await phase('before', server, 3, recvonly, obs));
    const flood = { sent: 0, byStatus: new Map<number, number>() };
    let stop = false;
    const loops = Array.from({ length: LOOPS }, async () => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      while (!stop) {
        const r = await requestFrom(server.base, 'POST', '/whep/stage', { body: recvonly, agent });
        flood.sent++;
        flood.byStatus.set(r.status, (flood.byStatus.get(r.status) ?? 0) + 1);
      }
      agent.destroy();
    });
    phases.push(await phase('during the flood', server, seconds, recvonly, obs));
    stop = true;
    await Promise.all(loops);
    const during = phases[1]!;
    console.log(
      `flood: ${flood.sent} anonymous WHEP POSTs from 127.0.0.1 in ${during.seconds} s (${Math.round(flood.sent / during.seconds)}/s): ${[...flood.byStatus].map(([s, n]) => `${n}× ${s}`).join(', ')}`,
    );
    // Past the 10 s ICE deadline the flood's sessions are gone.
    await new Promise((r) => setTimeout(r, 11_000));
    phases.push(await phase('after (ICE deadline passed)', server, 3, recvonly, obs));
    console.log('| phase | s | server CPU % of a core | heap MB | sessions | tokened publisher POSTs | viewer POSTs from 127.0.0.2 |');
    console.log('| --- | --- | --- | --- | --- | --- | --- |');
    for (const p of phases)
      console.log(`| ${p.name} | ${p.seconds} | ${p.cpuPercent.toFixed(0)} | ${p.heapMb.toFixed(1)} | ${p.sessions} | ${p.publisher} | ${p.viewer} |`);
  } finally {
    await stage.close();
    await server.stop();
  }
}

/** `seconds` of one POST + DELETE a second each for a tokened publisher and a viewer from another address. */
async function phase(name: string, server: SoakServer, seconds: number, recvonly: string, obs: string): Promise<Phase> {
  const cpu0 = cpuSeconds(server.pid);
  const t0 = Date.now();
  const statuses = { publisher: new Map<number, number>(), viewer: new Map<number, number>() };
  let n = 0;
  while (Date.now() - t0 < seconds * 1000) {
    const tick = Date.now();
    const tries = [
      ['publisher', requestFrom(server.base, 'POST', `/whip/legit${n++}`, { token: TOKEN, body: obs })],
      ['viewer', requestFrom(server.base, 'POST', '/whep/stage', { localAddress: '127.0.0.2', body: recvonly })],
    ] as const;
    for (const [who, pending] of tries) {
      const r = await pending;
      statuses[who].set(r.status, (statuses[who].get(r.status) ?? 0) + 1);
      if (r.status === 201) await requestFrom(server.base, 'DELETE', r.headers['location']!, who === 'publisher' ? { token: TOKEN } : {});
    }
    await new Promise((r) => setTimeout(r, Math.max(0, 1000 - (Date.now() - tick))));
  }
  const elapsed = (Date.now() - t0) / 1000;
  const probe = await server.probe();
  const show = (m: Map<number, number>) => [...m].map(([s, k]) => `${k}× ${s}`).join(', ');
  return {
    name,
    seconds: Math.round(elapsed),
    cpuPercent: ((cpuSeconds(server.pid) - cpu0) / elapsed) * 100,
    heapMb: probe.heapUsed / 1024 / 1024,
    sessions: probe.sfuSessions,
    publisher: show(statuses.publisher),
    viewer: show(statuses.viewer),
  };
}
