// `npm run bench`: the fan-out benchmark (bench/fanout.ts);
// `npm run bench -- soak`: sessions at scale and join/leave cycles (bench/soak.ts);
// `npm run bench -- recordings`: GET /api/recordings over thousands of recordings (bench/recordings.ts).
// `npm run bench -- --attack`: DTLS and session floods (bench/attack.ts, bench/sessionFlood.ts).
async function main(): Promise<void> {
  if (process.argv[2] === '--attack') {
    const { attack } = await import('./attack.js');
    await attack(process.argv.slice(3));
  } else if (process.argv[2] === 'soak') {
    const { soak } = await import('./soak.js');
    await soak(process.argv.slice(3));
  } else if (process.argv[2] === 'recordings') {
    const { recordingsBench } = await import('./recordings.js');
    await recordingsBench(process.argv.slice(3));
  } else {
    await import('./fanout.js');
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
