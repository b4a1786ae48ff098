// test/corpus/sdp: the bad (and a few good) SDP offers and their index, shared by the
// parser-level test (test/unit/badSdp.test.ts) and the live-server one (test/integration/badInput.test.ts).
import { readFileSync } from 'node:fs';
import path from 'node:path';

const CORPUS_DIR = path.join(__dirname, '..', 'corpus', 'sdp');

/** test/corpus/sdp/index.json: what each file tests and the statuses WHIP and WHEP answer it with. */
export interface CorpusCase {
  file: string;
  tests: string;
  whip: number;
  whep: number;
  /** Replaces application/sdp; '' sends no Content-Type at all. */
  contentType?: string;
}

/** Every case of the index, in its order. */
export function loadSdpCorpus(): CorpusCase[] {
  return (JSON.parse(readFileSync(path.join(CORPUS_DIR, 'index.json'), 'utf8')) as { cases: CorpusCase[] }).cases;
}

/** A case's offer as bytes: some files are deliberately not UTF-8. */
export function corpusBody(c: CorpusCase): Buffer<ArrayBuffer> {
  return readFileSync(path.join(CORPUS_DIR, c.file));
}
