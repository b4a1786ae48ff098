// The SDP module on bad offers, without a server: every offer of test/corpus/sdp gets the
// status its index names from parseOffer + negotiate (WHIP) or parseOffer + negotiatePlay
// (WHEP), and a seeded run of mutated real offers gets an answer or an OfferError, never
// another exception (which the HTTP layer would turn into a 500). FUZZ_SEED replays a run.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { buildAnswer } from '../../src/sdp/answer';
import { negotiate } from '../../src/sdp/negotiate';
import { parseOffer } from '../../src/sdp/offer';
import { negotiatePlay, sourceTracks } from '../../src/sdp/play';
import { OfferError, type PlayMedia, type Role } from '../../src/sdp/types';
import { RtpRewriter } from '../../src/rtp/rewriter';
import { corpusBody, loadSdpCorpus } from '../support/corpus';
import { DatagramFuzzer } from '../support/fuzz';

const FIXTURES_DIR = path.join(__dirname, '..', 'fixtures', 'sdp');
const MAX_BODY = 64 * 1024;
const MUTATIONS = 20_000;

const fixture = (name: string): string => readFileSync(path.join(FIXTURES_DIR, name), 'utf8');

/** The room the WHEP side plays from: the OBS publisher's H.264 + Opus, as the e2e corpus test has it. */
const ROOM_TRACKS = sourceTracks(negotiate(parseOffer(fixture('obs.sdp'), 'publish'), 'publish'));

const ANSWER_BASE = {
  iceUfrag: 'room/0123456789abcdef0123456789abcdef',
  icePwd: 'Zx8v/QwErTy+UiOpAsDfGh12',
  fingerprint: `sha-256 ${Array.from({ length: 32 }, () => 'AB').join(':')}`,
  candidates: [{ ip: '127.0.0.1', port: 8189 }],
};

/** What the SFU does with an offer before any session exists; the HTTP status it ends in. */
function outcome(sdp: string, role: Role): number {
  try {
    const offer = parseOffer(sdp, role);
    if (role === 'publish') {
      const media = negotiate(offer, role);
      buildAnswer({ ...ANSWER_BASE, offer, role, media });
    } else {
      const media = negotiatePlay(offer, ROOM_TRACKS);
      buildAnswer({ ...ANSWER_BASE, offer, role, media, sendSsrcs: sendSsrcs(media) });
      // What each viewer's forwarder builds from the answer (a long mid once threw here: a 500).
      for (const m of media) {
        const midExtensionId = m.extensions.find((e) => e.uri === 'urn:ietf:params:rtp-hdrext:sdes:mid')?.id;
        new RtpRewriter({
          ssrc: 1,
          payloadType: m.codec.payloadType,
          clockRate: m.codec.clockRate,
          mid: m.mid,
          ...(midExtensionId !== undefined ? { midExtensionId } : {}),
        });
      }
    }
    return 201;
  } catch (error) {
    // The status the client gets for it (http/signalingProblems.ts).
    if (error instanceof OfferError) return error.kind === 'malformed' ? 400 : 422;
    throw error;
  }
}

function sendSsrcs(media: readonly PlayMedia[]): Map<string, { ssrc: number; cname: string; msid: string; trackId: string }> {
  const out = new Map<string, { ssrc: number; cname: string; msid: string; trackId: string }>();
  media.forEach((m, i) => {
    if (m.sourceKind !== undefined) out.set(m.mid, { ssrc: 1000 + i, cname: 'cname', msid: 'msid', trackId: `msid-${m.kind}` });
  });
  return out;
}

describe('bad SDP offers, parsed without a server', () => {
  const corpus = loadSdpCorpus();

  it('the corpus index names files that exist, each with what it tests and a status per endpoint', () => {
    assert.ok(corpus.length >= 50, `${corpus.length} cases`);
    for (const c of corpus) {
      assert.ok(c.tests.length > 5, c.file);
      for (const status of [c.whip, c.whep]) assert.ok([201, 400, 413, 415, 422].includes(status), `${c.file}: ${status}`);
      corpusBody(c);
    }
  });

  // 413 and 415 are the HTTP layer's (body size, Content-Type): test/integration/badInput.test.ts.
  for (const c of corpus.filter((x) => x.contentType === undefined && x.whip !== 413)) {
    it(`${c.file}: ${c.tests} → WHIP ${c.whip}, WHEP ${c.whep}`, () => {
      const body = corpusBody(c);
      assert.ok(body.length <= MAX_BODY);
      const text = body.toString('utf8');
      assert.equal(outcome(text, 'publish'), c.whip, 'WHIP');
      assert.equal(outcome(text, 'play'), c.whep, 'WHEP');
    });
  }

  it(`${MUTATIONS} mutated real offers: an answer or a 400/422, never another exception`, function () {
    const seed = Number(process.env['FUZZ_SEED'] ?? Date.now() % 2 ** 31);
    const fuzz = new DatagramFuzzer(seed);
    const bases = ['obs.sdp', 'chromium.sdp', 'gstreamer.sdp', 'chromium-recvonly.sdp', 'libdatachannel-recvonly.sdp'].map(fixture);
    const counts: Record<string, number> = {};
    for (let i = 0; i < MUTATIONS; i++) {
      const sdp = mutateOffer(fuzz, fuzz.pick(bases));
      const role: Role = fuzz.chance(0.5) ? 'publish' : 'play';
      let status: number;
      try {
        status = outcome(sdp, role);
      } catch (error) {
        assert.fail(`FUZZ_SEED=${seed}: mutation ${i} (${role}) threw ${String((error as Error).stack ?? error)}\n${JSON.stringify(sdp)}`);
      }
      counts[`${role} ${status}`] = (counts[`${role} ${status}`] ?? 0) + 1;
    }
    console.log(`      FUZZ_SEED=${seed}: ${JSON.stringify(counts)}`);
    assert.ok((counts['publish 201'] ?? 0) > 0 && (counts['play 201'] ?? 0) > 0, 'some mutations are still valid offers');
  });
});

/** Line-level mutations of an offer, plus the byte-level ones of the datagram fuzzer. */
function mutateOffer(fuzz: DatagramFuzzer, sdp: string): string {
  let lines = sdp.split('\r\n');
  const rounds = 1 + fuzz.int(4);
  for (let r = 0; r < rounds && lines.length > 0; r++) {
    const i = fuzz.int(lines.length);
    switch (fuzz.int(7)) {
      case 0:
        lines.splice(i, 1);
        break;
      case 1:
        lines.splice(i, 0, lines[fuzz.int(lines.length)]!);
        break;
      case 2: {
        const j = fuzz.int(lines.length);
        [lines[i], lines[j]] = [lines[j]!, lines[i]!];
        break;
      }
      case 3:
        // A number made absurd: 0, negative, huge, or not a number.
        lines[i] = lines[i]!.replace(/\d+/, () => fuzz.pick(['0', '-1', '128', '65536', '4294967296', '99999999999999999999', 'NaN', '']));
        break;
      case 4:
        // A value cut short or emptied.
        lines[i] = lines[i]!.slice(0, fuzz.int(lines[i]!.length + 1));
        break;
      case 5:
        lines = lines.slice(0, i);
        break;
      default: {
        const bytes = fuzz.mutate({ kind: 'rtcp', packet: Buffer.from(lines[i]!, 'utf8') });
        lines[i] = bytes.toString('utf8');
      }
    }
  }
  return lines.join(fuzz.pick(['\r\n', '\n']));
}
