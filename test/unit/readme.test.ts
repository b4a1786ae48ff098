// The README's settings table is the documentation users read: it must say what
// config.ts does.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { SETTINGS } from '../../src/config';

describe('README', () => {
  const readme = readFileSync(path.join(__dirname, '..', '..', 'README.md'), 'utf8');

  it('lists every setting with its flag, default and meaning, as config.ts declares them', () => {
    for (const s of SETTINGS) {
      const row = `| \`${s.env}\` | \`${s.flag}\` | ${s.default === '' ? 'unset' : `\`${s.default}\``} | ${s.describe} |`;
      assert.ok(readme.includes(row), `README is missing or has a stale row for ${s.env}:\n${row}`);
    }
  });

  it('gives the two commands', () => {
    assert.match(readme, /npm install && npm start/);
    assert.match(readme, /npm install && npm test/);
  });
});
