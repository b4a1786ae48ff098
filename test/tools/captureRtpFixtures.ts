// Re-makes test/fixtures/rtp: a few frames encoded by ffmpeg (libx264, libvpx) to an
// elementary stream (`.h264` Annex B, `.ivf`), and the same stream sent by ffmpeg's own
// RTP packetizer (`-c copy -f rtp`) to a UDP socket here, its packets saved as they came
// (`.rtp`: each packet after its length in 2 bytes, big-endian). The depacketizer unit
// tests give the packets to src/rtp/depacketize and compare with the elementary stream.
// Run: npx tsx test/tools/captureRtpFixtures.ts
import { execFileSync, spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { writeFileSync } from 'node:fs';
import path from 'node:path';

const OUT = path.join(__dirname, '..', 'fixtures', 'rtp');
/** Small packets, so that the keyframe is fragmented (FU-A, VP8 continuation packets). */
const PACKET_SIZE = 400;

const ENCODES = [
  { name: 'h264', file: 'h264.h264', args: ['-c:v', 'libx264', '-preset', 'veryfast', '-bf', '0', '-g', '5', '-pix_fmt', 'yuv420p', '-f', 'h264'] },
  { name: 'vp8', file: 'vp8.ivf', args: ['-c:v', 'libvpx', '-b:v', '300k', '-g', '5', '-f', 'ivf'] },
];

async function capture(input: string): Promise<Buffer[]> {
  const socket = createSocket('udp4');
  const packets: Buffer[] = [];
  socket.on('message', (m) => {
    // RTCP (payload type 200-204 in the second byte) from the same muxer is not media.
    if (m[1]! < 200 || m[1]! > 204) packets.push(m);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const port = socket.address().port;
  const ffmpeg = spawn(
    'ffmpeg',
    [
      '-hide_banner',
      '-loglevel',
      'error',
      '-i',
      input,
      '-c',
      'copy',
      '-pkt_size',
      String(PACKET_SIZE),
      '-f',
      'rtp',
      `rtp://127.0.0.1:${port}?rtcpport=${port}`,
    ],
    {
      // stdout: the SDP ffmpeg prints, not needed.
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  await new Promise((resolve) => ffmpeg.once('exit', resolve));
  await new Promise((resolve) => setTimeout(resolve, 200));
  socket.close();
  return packets;
}

async function main(): Promise<void> {
  for (const encode of ENCODES) {
    const stream = path.join(OUT, encode.file);
    execFileSync('ffmpeg', [
      '-hide_banner',
      '-loglevel',
      'error',
      '-y',
      '-f',
      'lavfi',
      '-i',
      'testsrc=size=320x240:rate=10',
      '-frames:v',
      '8',
      ...encode.args,
      stream,
    ]);
    const packets = await capture(stream);
    const framed = packets.flatMap((p) => [Buffer.from([p.length >> 8, p.length & 0xff]), p]);
    writeFileSync(path.join(OUT, `${encode.name}.rtp`), Buffer.concat(framed));
    console.log(`${encode.name}: ${packets.length} packets`);
  }
}

void main();
