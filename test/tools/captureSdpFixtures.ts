// Re-captures the real offers of test/fixtures/sdp/ that the SDP unit tests read, from the
// stacks that make them, so the unit tests need neither a browser nor libdatachannel:
//   chromium.sdp                 Debian's chromium, audio + video transceivers sendonly (a WHIP publisher)
//   chromium-recvonly.sdp        the same, recvonly (a WHEP player)
//   obs.sdp                      node-datachannel set up as OBS's WHIP output sets it up
//                                (plugins/obs-webrtc/whip-output.cpp): opus 111 + H264 96, sendonly, a=ssrc
//   libdatachannel-recvonly.sdp  node-datachannel as a WHEP player: opus 111 + H264 96, recvonly
// Each is taken once ICE gathering is complete (its candidates in the offer). Host addresses
// are replaced with documentation ones (192.0.2.2, fd00::2; Chromium's mDNS names stay as
// they are). gstreamer.sdp is written by hand and not re-captured.
//
// Run: npx tsx test/tools/captureSdpFixtures.ts   (needs /usr/bin/chromium)
// Then run `npm run test:unit`: the tests name some values of these offers (OBS's ICE ufrag,
// Chromium's payload type numbers and candidate count), which a new browser version or a
// new capture changes; update them in test/unit/sdp*.test.ts to what the new offers say.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import nodeDataChannel, { Audio, PeerConnection, Video } from 'node-datachannel';
import { launchChromium } from '../support/browser';

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'sdp');
/** The SSRCs, CNAME and stream id the unit tests expect in obs.sdp. */
const OBS_SSRC = 305419896;
const OBS_CNAME = 'a1b2c3d4e5f6g7h8';
const OBS_MSID = 'ZGhpMzRrdGVzdG1zaWQ';

async function chromiumOffer(direction: 'sendonly' | 'recvonly'): Promise<string> {
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    return await page.evaluate(async (dir) => {
      const pc = new RTCPeerConnection();
      pc.addTransceiver('audio', { direction: dir });
      pc.addTransceiver('video', { direction: dir });
      const gathered = new Promise<void>((resolve) => {
        pc.onicegatheringstatechange = () => {
          if (pc.iceGatheringState === 'complete') resolve();
        };
      });
      await pc.setLocalDescription(await pc.createOffer());
      await gathered;
      const sdp = pc.localDescription!.sdp;
      pc.close();
      return sdp;
    }, direction);
  } finally {
    await browser.close();
  }
}

function libdatachannelOffer(role: 'publish' | 'play'): Promise<string> {
  const pc = new PeerConnection(role === 'publish' ? 'obs' : 'viewer', { iceServers: [] });
  const direction = role === 'publish' ? 'SendOnly' : 'RecvOnly';
  const audio = new Audio('0', direction);
  audio.addOpusCodec(111);
  const video = new Video('1', direction);
  if (role === 'publish') {
    audio.addSSRC(OBS_SSRC, OBS_CNAME, OBS_MSID, `${OBS_MSID}-audio`);
    video.addSSRC(OBS_SSRC + 1, OBS_CNAME, OBS_MSID, `${OBS_MSID}-video`);
  }
  video.addH264Codec(96);
  const tracks = [pc.addTrack(audio), pc.addTrack(video)];
  return new Promise<string>((resolve) => {
    pc.onGatheringStateChange((state) => {
      if (state !== 'complete') return;
      const sdp = pc.localDescription()!.sdp;
      for (const t of tracks) t.close();
      pc.close();
      resolve(sdp);
    });
    pc.setLocalDescription();
  });
}

/** Host addresses out: IPv4 other than loopback → 192.0.2.2, IPv6 → fd00::2 (in c= and a=candidate lines). */
function anonymize(sdp: string): string {
  return sdp
    .split(/\r?\n/)
    .map((line) => {
      if (!line.startsWith('c=') && !line.startsWith('a=candidate:')) return line;
      return line
        .replace(/\b(?!127\.)(?!0\.0\.0\.0)\d{1,3}(\.\d{1,3}){3}\b/g, '192.0.2.2')
        .replace(/(?<=\s)[0-9a-f]{0,4}(:[0-9a-f]{0,4}){2,7}(?=\s)/gi, 'fd00::2');
    })
    .join('\r\n');
}

async function main(): Promise<void> {
  const offers: Record<string, string> = {
    'chromium.sdp': await chromiumOffer('sendonly'),
    'chromium-recvonly.sdp': await chromiumOffer('recvonly'),
    'obs.sdp': await libdatachannelOffer('publish'),
    'libdatachannel-recvonly.sdp': await libdatachannelOffer('play'),
  };
  nodeDataChannel.cleanup();
  for (const [name, sdp] of Object.entries(offers)) {
    const text = anonymize(sdp).replace(/(\r\n)*$/, '\r\n');
    writeFileSync(path.join(FIXTURES, name), text);
    process.stdout.write(`${name}: ${text.split('\r\n').length - 1} lines\n`);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
