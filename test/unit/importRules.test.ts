// The layering of src/, read from the import lines themselves: which layer may import which,
// no import circle anywhere, and no module over 500 lines. A failure names the importing
// file, the imported one and the rule it breaks.
//
// `import type` counts like any other import, in the layer rules and in the circles (as
// madge counts it): a type is still knowledge of the other module. An sfu that names the
// recorder's class only as a type still has to change when the recorder does, and a circle
// through a type import is still a circle a reader has to untangle.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.join(__dirname, '..', '..');
const SRC = path.join(ROOT, 'src');
const MAX_LINES = 500;

/** Every .ts file under src/, as a path relative to the repository ("src/sfu/room.ts"). */
function sourceFiles(dir = SRC): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(full);
    return e.name.endsWith('.ts') ? [path.relative(ROOT, full)] : [];
  });
}

/** The module specifiers of a file's static imports and re-exports, `require()` and `import()` calls. */
function importSpecifiers(text: string): string[] {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const patterns = [
    /^\s*(?:import|export)\s[^;'"]*?\sfrom\s*['"]([^'"]+)['"]/gm, // import x from '…', export { x } from '…', multi-line ones too
    /^\s*import\s*['"]([^'"]+)['"]/gm, // import '…' (for its effects)
    /\brequire\(\s*['"]([^'"]+)['"]\s*\)/g,
    /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  return patterns.flatMap((p) => [...code.matchAll(p)].map((m) => m[1]!));
}

/** The src/ file a relative specifier names, or undefined for a package (or a file outside src/). */
function resolve(from: string, specifier: string): string | undefined {
  if (!specifier.startsWith('.')) return undefined;
  const base = path.join(path.dirname(path.join(ROOT, from)), specifier);
  for (const candidate of [`${base}.ts`, path.join(base, 'index.ts'), base]) {
    if (candidate.endsWith('.ts') && existsSync(candidate)) {
      const rel = path.relative(ROOT, candidate);
      return rel.startsWith(`src${path.sep}`) ? rel : undefined;
    }
  }
  return undefined;
}

/** src/'s import graph: file → the src/ files it imports. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sourceFiles()) {
    const targets = importSpecifiers(readFileSync(path.join(ROOT, file), 'utf8'))
      .map((s) => resolve(file, s))
      .filter((t): t is string => t !== undefined);
    graph.set(file, [...new Set(targets)]);
  }
  return graph;
}

/** "engine", "sfu", …; a file directly in src/ is its own layer, named by its file ("server.ts"). */
function layerOf(file: string): string {
  return file.split(path.sep)[1]!;
}

interface Rule {
  /** The layers a file of this layer may import (its own always included). */
  may?: string[];
  /** Or: the layers it must not import. */
  mayNot?: string[];
  text: string;
  /** Of these layers it may import only these files (with the rule they keep). */
  only?: Record<string, { files: string[]; text: string }>;
}

const RULES: Record<string, Rule> = {
  rtp: { may: [], text: 'rtp may import only rtp' },
  engine: { may: [], text: 'engine may import only engine (and leaf modules)' },
  sdp: { may: ['rtp'], text: 'sdp may import only rtp' },
  sfu: { may: ['engine', 'rtp', 'sdp'], text: 'sfu may import only engine, rtp, sdp' },
  recorder: {
    mayNot: ['sfu', 'http', 'signaling'],
    text: 'recorder may import neither sfu, http nor signaling',
    // One recording writes into the recordings folder: it knows the folder's layout, and
    // nothing else of the recording side (what is recorded, the index) above it.
    only: { recordings: { files: ['src/recordings/layout.ts', 'src/recordings/recordingInfo.ts'], text: 'recorder may import of recordings only its layout' } },
  },
  // The recordings service follows the rooms to decide what is recorded, so recordings/ may name
  // sfu/'s rooms; sfu/ names nothing of the recording side (its own rule), so no circle.
  recordings: { mayNot: ['http'], text: 'recordings may not import http' },
  signaling: { mayNot: ['http', 'relay'], text: 'signaling may import neither http nor relay (it asks for relays through its upstream port)' },
  // The server's events are read off the rooms and the recordings service; what they are
  // told to (the library's users, the webhooks) is above them.
  serverEvents: { mayNot: ['http', 'signaling', 'webhooks'], text: 'serverEvents may import neither http, signaling nor webhooks' },
  // Webhooks know the events (a leaf module) and the clock, nothing of the media or the rooms.
  webhooks: {
    may: ['recorder'],
    text: 'webhooks may import only leaf modules (events.ts, log.ts) and the clock',
    only: { recorder: { files: ['src/recorder/clock.ts'], text: 'webhooks may import of recorder only its clock' } },
  },
  // Thumbnails read the rooms' cached keyframes and run ffmpeg the one way onecast does.
  thumbnails: {
    may: ['rtp', 'sfu', 'recorder'],
    text: 'thumbnails may import only rtp, sfu, and of recorder its ffmpeg process',
    only: {
      recorder: { files: ['src/recorder/ffmpegProcess.ts'], text: 'thumbnails may import of recorder only ffmpegProcess (the one place ffmpeg is spawned)' },
    },
  },
  // A relay is a WebRTC client of another node whose media enters a local room as a
  // publisher's: it knows the engine's pieces, RTP, SDP and the rooms, and of signaling only
  // the port that says where a room's upstream is (signaling asks it, never the reverse).
  relay: {
    may: ['engine', 'rtp', 'sdp', 'sfu', 'signaling'],
    text: 'relay may import only engine, rtp, sdp, sfu, and of signaling its upstream port',
    only: { signaling: { files: ['src/signaling/upstream.ts'], text: 'relay may import of signaling only upstream (the port it implements for the service)' } },
  },
  // Who may publish and watch is policy: it knows tokens, keys and rooms by name, and none of
  // the machinery that carries media or HTTP (the HTTP layer asks it; server.ts builds it).
  auth: {
    mayNot: ['engine', 'rtp', 'sdp', 'sfu', 'recorder', 'recordings', 'signaling', 'http', 'metrics.ts', 'serverEvents', 'webhooks', 'thumbnails'],
    text: 'auth may not import engine, rtp, sdp, sfu, recorder, recordings, signaling, http, metrics, serverEvents, webhooks or thumbnails',
  },
};

/**
 * Only the server wires the layers: http (the outermost layer) is imported by nothing but
 * server.ts; server.ts only by the library, and the library (createServer) only by the
 * package's public entry and the command line.
 */
const WIRED_ONLY_BY: Record<string, string[]> = {
  http: ['server.ts'],
  'server.ts': ['library'],
  library: ['index.ts', 'main.ts'],
};

/** Files directly in src/ that import no other src/ module (a logger, a names module): any layer may use them. */
function leafModules(graph: Map<string, string[]>): Set<string> {
  return new Set([...graph].filter(([file, targets]) => !file.slice(4).includes(path.sep) && targets.length === 0).map(([file]) => file));
}

/** Every broken rule, one line each: "src/a.ts imports src/b.ts: <rule>". */
function layerViolations(graph: Map<string, string[]>): string[] {
  const leaves = leafModules(graph);
  const out: string[] = [];
  for (const [file, targets] of graph) {
    const from = layerOf(file);
    for (const target of targets) {
      const to = layerOf(target);
      if (to === from) continue;
      const rule = RULES[from];
      if (rule?.may !== undefined && !rule.may.includes(to) && !leaves.has(target)) out.push(`${file} imports ${target}: ${rule.text}`);
      if (rule?.mayNot?.includes(to)) out.push(`${file} imports ${target}: ${rule.text}`);
      const only = rule?.only?.[to];
      if (only !== undefined && !only.files.includes(target)) out.push(`${file} imports ${target}: ${only.text}`);
      const wiredBy = WIRED_ONLY_BY[to];
      if (wiredBy !== undefined && !wiredBy.includes(from)) {
        out.push(
          `${file} imports ${target}: only ${wiredBy.map((f) => `src/${f}`).join(' and ')} may import ${to.endsWith('.ts') ? `src/${to}` : `src/${to}/`}`,
        );
      }
    }
  }
  return out;
}

/** Every import circle, each once, as "src/a.ts → src/b.ts → src/a.ts" (started at its first file in sort order). */
function importCircles(graph: Map<string, string[]>): string[] {
  const circles = new Set<string>();
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (file: string): void => {
    state.set(file, 'open');
    stack.push(file);
    for (const next of graph.get(file) ?? []) {
      if (state.get(next) === 'open') {
        const loop = stack.slice(stack.indexOf(next));
        const start = loop.indexOf([...loop].sort()[0]!);
        const rotated = [...loop.slice(start), ...loop.slice(0, start)];
        circles.add([...rotated, rotated[0]].join(' → '));
      } else if (state.get(next) === undefined) {
        visit(next);
      }
    }
    stack.pop();
    state.set(file, 'done');
  };
  for (const file of [...graph.keys()].sort()) if (state.get(file) === undefined) visit(file);
  return [...circles];
}

describe('import rules of src/', () => {
  const graph = importGraph();

  it('reads the import lines it checks (static, multi-line, type-only, re-exports, require and import())', () => {
    const text = [
      "import a from './a';",
      'import {',
      '  b,',
      "} from '../b';",
      "import type { C } from './c';",
      "export { d } from './d';",
      "import './e';",
      "const f = require('./f');",
      "const g = await import('./g');",
      "// import h from './h';",
      "import x from 'node:fs';",
    ].join('\n');
    assert.deepEqual(importSpecifiers(text).sort(), ['../b', './a', './c', './d', './e', './f', './g', 'node:fs']);
    assert.ok(graph.size > 50, `found only ${graph.size} files under src/`);
  });

  it('names the offending import when a layer reaches above itself', () => {
    const fake = new Map([
      ['src/sfu/room.ts', ['src/recorder/recorder.ts', 'src/rtp/rtcp.ts', 'src/log.ts']],
      ['src/recorder/recorder.ts', []],
      ['src/rtp/rtcp.ts', []],
      ['src/log.ts', []],
      ['src/engine/engine.ts', ['src/http/app.ts']],
      ['src/http/app.ts', []],
      ['src/recorder/playlistGuard.ts', ['src/recordings/store.ts', 'src/recordings/layout.ts']],
      ['src/recordings/store.ts', []],
      ['src/recordings/layout.ts', []],
    ]);
    assert.deepEqual(layerViolations(fake), [
      'src/sfu/room.ts imports src/recorder/recorder.ts: sfu may import only engine, rtp, sdp',
      'src/engine/engine.ts imports src/http/app.ts: engine may import only engine (and leaf modules)',
      'src/engine/engine.ts imports src/http/app.ts: only src/server.ts may import src/http/',
      'src/recorder/playlistGuard.ts imports src/recordings/store.ts: recorder may import of recordings only its layout',
    ]);
    assert.deepEqual(
      importCircles(
        new Map([
          ['src/b.ts', ['src/a.ts']],
          ['src/a.ts', ['src/b.ts']],
        ]),
      ),
      ['src/a.ts → src/b.ts → src/a.ts'],
    );
  });

  it('each layer imports only the layers below it; only src/server.ts wires them together', () => {
    const violations = layerViolations(graph);
    if (violations.length > 0) assert.fail(`\n${violations.join('\n')}`);
  });

  it('has no import circle (type-only imports included)', () => {
    const circles = importCircles(graph);
    if (circles.length > 0) assert.fail(`\n${circles.join('\n')}`);
  });

  it(`has no module over ${MAX_LINES} lines`, () => {
    const long = [...graph.keys()]
      .map((file) => ({ file, lines: readFileSync(path.join(ROOT, file), 'utf8').split('\n').length - 1 }))
      .filter((f) => f.lines > MAX_LINES)
      .map((f) => `${f.file}: ${f.lines} lines`);
    if (long.length > 0) assert.fail(`\n${long.join('\n')}`);
  });
});
