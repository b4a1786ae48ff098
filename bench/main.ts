// `npm run bench`: the fan-out benchmark (bench/fanout.ts);
// `npm run bench -- soak`: sessions at scale and join/leave cycles (test/load/soak.ts);
// `npm run bench -- recordings`: GET /api/recordings over thousands of recordings (bench/recordings.ts).
// `npm run bench -- native`: the native fan-out against the JavaScript path in one process, no server (bench/nativeFanout.ts).
// `npm run bench -- --attack`: DTLS and session floods (test/load/attack.ts, test/load/sessionFlood.ts).
async function main(): Promise<void> {
  if (process.argv[2] === '--attack') {
    const { attack } = await import('../test/load/attack.js');
    await attack(process.argv.slice(3));
  } else if (process.argv[2] === 'soak') {
    const { soak } = await import('../test/load/soak.js');
    await soak(process.argv.slice(3));
  } else if (process.argv[2] === 'recordings') {
    const { recordingsBench } = await import('./recordings.js');
    await recordingsBench(process.argv.slice(3));
  } else if (process.argv[2] === 'native') {
    const { nativeFanoutBench } = await import('./nativeFanout.js');
    await nativeFanoutBench(process.argv.slice(3));
  } else {
    await import('./fanout.js');
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
