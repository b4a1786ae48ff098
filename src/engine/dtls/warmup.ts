// The first DTLS handshake in a process pays for werift's lazily built elliptic-
// curve tables: a CPU profile of a cold server showed 150 ms in the first P-256
// key generation (noble-curves precomputation) and 30 ms in the first X25519 one,
// where a warm handshake takes ~30 ms in all. Handshakes with ourselves, in memory,
// at start-up move that cost out of the first publishers' connection time. Both
// curves are primed: libdatachannel (OBS) negotiates P-256, Chromium X25519.
import { NamedCurveAlgorithm } from 'werift';
import type { Certificate } from './certificate';
import { loopbackHandshake } from './loopbackHandshake';

export async function primeDtls(certificate: Certificate): Promise<void> {
  // Each handshake offers only its curve, so the server side (the one that matters) takes that path.
  await Promise.all(
    [NamedCurveAlgorithm.secp256r1_23, NamedCurveAlgorithm.x25519_29].map((curve) =>
      loopbackHandshake(certificate, { name: 'DTLS warm-up', timeoutMs: 5_000, curve }),
    ),
  );
}
