// The sockets behind UDP_PORT with a wildcard BIND: which local addresses get one, and
// that a session's packets leave from the address its selected check was sent to.
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { once } from 'node:events';
import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os';
import { createCertificate } from '../../src/engine/dtls/certificate';
import { MediaEngine } from '../../src/engine/engine';
import { LocalSockets, isWildcard, localAddresses } from '../../src/engine/localSockets';
import type { Address } from '../../src/engine/address';
import { waitFor } from '../support/server';
import { stunMessage } from '../clients/stunMessage';

const HOST: NodeJS.Dict<NetworkInterfaceInfo[]> = {
  lo: [
    { address: '127.0.0.1', netmask: '255.0.0.0', family: 'IPv4', mac: '00:00:00:00:00:00', internal: true, cidr: '127.0.0.1/8' },
    {
      address: '::1',
      netmask: 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff',
      family: 'IPv6',
      mac: '00:00:00:00:00:00',
      internal: true,
      cidr: '::1/128',
      scopeid: 0,
    },
  ],
  eth0: [
    { address: '192.0.2.2', netmask: '255.255.255.0', family: 'IPv4', mac: '02:fc:00:00:00:01', internal: false, cidr: '192.0.2.2/24' },
    { address: 'fd00::2', netmask: 'ffff:ffff:ffff:ffff::', family: 'IPv6', mac: '02:fc:00:00:00:01', internal: false, cidr: 'fd00::2/64', scopeid: 0 },
    {
      address: 'fe80::fc:ff:fe00:1',
      netmask: 'ffff:ffff:ffff:ffff::',
      family: 'IPv6',
      mac: '02:fc:00:00:00:01',
      internal: false,
      cidr: 'fe80::fc:ff:fe00:1/64',
      scopeid: 4,
    },
  ],
};

describe('local sockets on UDP_PORT', () => {
  it('knows the wildcards, however IPv6 spells them', () => {
    for (const bind of ['0.0.0.0', '::', '0::0', '0:0:0:0:0:0:0:0']) assert.equal(isWildcard(bind), true, bind);
    for (const bind of ['127.0.0.1', '::1', '192.0.2.2', 'fd00::2']) assert.equal(isWildcard(bind), false, bind);
  });

  it('gives 0.0.0.0 every IPv4 address and :: every address but link-local IPv6', () => {
    assert.deepEqual(localAddresses('0.0.0.0', HOST), ['127.0.0.1', '192.0.2.2']);
    assert.deepEqual(localAddresses('::', HOST), ['127.0.0.1', '::1', '192.0.2.2', 'fd00::2']);
  });

  it('binds an address the host gains, when next it looks, and lets go of one it loses', async () => {
    let interfaces: NodeJS.Dict<NetworkInterfaceInfo[]> = {};
    let last: Address | undefined;
    const sockets = new LocalSockets(
      '0.0.0.0',
      0,
      (_packet, from) => (last = from),
      () => interfaces,
    );
    const port = await sockets.listen();
    const peer = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => peer.bind(0, '127.0.0.1', () => resolve()));
    /** The local address the next datagram to 127.0.0.1 arrives with. */
    const arrivesAt = async (): Promise<string | undefined> => {
      last = undefined;
      peer.send('x', port, '127.0.0.1');
      return (await waitFor('the datagram', () => last)).local;
    };
    try {
      assert.equal(await arrivesAt(), undefined, 'with no socket of its own, 127.0.0.1 is served by the wildcard');
      interfaces = { lo: HOST['lo']!.slice(0, 1) };
      let now = Date.now() + 1_000;
      sockets.refresh(now);
      await waitFor('a socket for 127.0.0.1', async () => ((await arrivesAt()) === '127.0.0.1' ? true : undefined));
      interfaces = {};
      sockets.refresh((now += 1_000));
      await waitFor('the 127.0.0.1 socket to close', async () => ((await arrivesAt()) === undefined ? true : undefined));
    } finally {
      peer.close();
      await sockets.close();
    }
  });

  it("routes a peer reached through a local address to that socket's fd, and says so before that socket closes", async () => {
    let interfaces: NodeJS.Dict<NetworkInterfaceInfo[]> = { lo: HOST['lo']!.slice(0, 1) };
    const sockets = new LocalSockets(
      '0.0.0.0',
      0,
      () => {},
      () => interfaces,
    );
    await sockets.listen();
    const retired: { fd: number; routeThen: number | undefined }[] = [];
    const peer: Address = { address: '127.0.0.1', port: 9, local: '127.0.0.1' };
    sockets.onRetire((fd) => retired.push({ fd, routeThen: sockets.routeFor(peer)?.fd }));
    assert.equal(sockets.routable, true);
    const wildcard = sockets.routeFor({ address: '127.0.0.1', port: 9 })!;
    const own = sockets.routeFor(peer)!;
    try {
      assert.notEqual(own.fd, wildcard.fd, '127.0.0.1 has a socket of its own');
      assert.deepEqual({ host: own.host, port: own.port }, { host: '127.0.0.1', port: 9 });
      interfaces = {};
      sockets.refresh(Date.now() + 1_000);
      await waitFor('the 127.0.0.1 socket to retire', () => (retired.length > 0 ? true : undefined));
      assert.deepEqual(retired, [{ fd: own.fd, routeThen: wildcard.fd }], "told while the engine's choice is already the wildcard socket");
    } finally {
      await sockets.close();
    }
    assert.deepEqual(
      retired.map((r) => r.fd),
      [own.fd, wildcard.fd],
      'closing retires the wildcard socket too',
    );
    assert.equal(sockets.routeFor(peer), undefined, 'nothing to route through once closed');
  });

  for (const bind of ['0.0.0.0', '::']) {
    it(`with BIND=${bind}, answers a check to each local address from that address`, async () => {
      const engine = new MediaEngine({ bind, udpPort: 0, certificate: await createCertificate() });
      const port = await engine.start();
      const session = engine.createSession({ ufragPrefix: 'room', remoteUfrag: 'peer', remoteFingerprints: [] });
      const peers = { IPv4: dgram.createSocket('udp4'), IPv6: dgram.createSocket('udp6') };
      try {
        await new Promise<void>((resolve) => peers.IPv4.bind(0, '127.0.0.1', () => resolve()));
        await new Promise<void>((resolve) => peers.IPv6.bind(0, '::1', () => resolve()));
        const targets = localAddresses(bind, networkInterfaces());
        assert.ok(targets.includes('127.0.0.1'));
        for (const target of targets) {
          const peer = target.includes(':') ? peers.IPv6 : peers.IPv4;
          const reply = once(peer, 'message');
          peer.send(stunMessage({ username: `${session.localUfrag}:peer`, password: session.localPassword }), port, target);
          const [, from] = (await reply) as [Buffer, dgram.RemoteInfo];
          assert.deepEqual([from.address, from.port], [target, port], `the check to ${target} is answered from there`);
        }
      } finally {
        peers.IPv4.close();
        peers.IPv6.close();
        await engine.close();
      }
    });
  }

  describe('a session behind the wildcard', () => {
    // A second local address to check: the host's non-loopback one when it has one, else
    // 127.0.0.2, which only the wildcard socket receives (no socket of its own, no `local`;
    // the kernel then answers from 127.0.0.1, its route's source address).
    const other = Object.values(networkInterfaces())
      .flat()
      .find((i) => i?.family === 'IPv4' && !i.internal)?.address;
    let engine: MediaEngine;
    let peer: dgram.Socket;

    before(async () => {
      engine = new MediaEngine({ bind: '0.0.0.0', udpPort: 0, certificate: await createCertificate() });
      await engine.start();
      peer = dgram.createSocket('udp4');
      await new Promise<void>((resolve) => peer.bind(0, '127.0.0.1', () => resolve()));
    });

    after(async () => {
      peer.close();
      await engine.close();
    });

    async function check(to: string, password: string, ufrag: string, useCandidate: boolean): Promise<dgram.RemoteInfo> {
      const reply = once(peer, 'message');
      peer.send(stunMessage({ username: `${ufrag}:peer`, password, useCandidate }), engine.mux.localPort, to);
      const [, from] = (await reply) as [Buffer, dgram.RemoteInfo];
      return from;
    }

    it('answers each check from where it was sent, and keeps the local address of the nominated one', async () => {
      const session = engine.createSession({ ufragPrefix: 'room', remoteUfrag: 'peer', remoteFingerprints: [] });
      const port = engine.mux.localPort;
      const second = other ?? '127.0.0.2';
      const first = await check('127.0.0.1', session.localPassword, session.localUfrag, false);
      assert.deepEqual([first.address, first.port], ['127.0.0.1', port], 'answered from 127.0.0.1:UDP_PORT');
      assert.equal(session.selectedAddress?.local, '127.0.0.1', 'the first verified check selects its path');
      const fromSecond = await check(second, session.localPassword, session.localUfrag, true);
      assert.deepEqual([fromSecond.address, fromSecond.port], [other ?? '127.0.0.1', port], `a check to ${second} is answered from its own address`);
      assert.equal(session.selectedAddress?.local, other, 'USE-CANDIDATE moves the path to the local address it was sent to');
      await check('127.0.0.1', session.localPassword, session.localUfrag, false);
      assert.equal(session.selectedAddress?.local, other, 'a check on another pair does not move the nominated path');
      assert.equal(engine.mux.boundAddressCount, 1, 'one peer address, whichever local address it asked');
      session.close('deleted');
    });
  });
});
