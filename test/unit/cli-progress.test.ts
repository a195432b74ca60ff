/** src/cli/progress.ts: off a terminal, nothing while work runs and exactly one summary line at the end. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { startProgress } from '../../src/cli/progress.ts';

function stream(tty: boolean) {
  const chunks: string[] = [];
  const s = new Writable({ write(c, _e, cb) { chunks.push(String(c)); cb(); } }) as unknown as NodeJS.WriteStream;
  (s as any).isTTY = tty;
  return { s, text: () => chunks.join('') };
}

test('not a terminal: no output while running, then one summary line with time and rate', () => {
  const out = stream(false);
  const p = startProgress('export', 'people', out.s);
  for (let i = 0; i <= 10_000; i += 100) p.update(i, 10_000);
  p.update(5, 0, 'checking');
  assert.equal(out.text(), '');
  p.finish('10000 people written', 10_000);
  assert.match(out.text(), /^export: 10000 people written \(\d+\.\d s, \d+ people\/s\)\n$/);
});

test('not a terminal, failed: nothing at all (the error is the line to read)', () => {
  const out = stream(false);
  const p = startProgress('import', 'lines', out.s);
  p.update(10, 100);
  p.abort();
  assert.equal(out.text(), '');
});
