import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { AirlockError, ERROR_CODES, EXIT, fromFsError } from './errors.ts';

describe('AirlockError', () => {
  it('takes its exit code from the table', () => {
    assert.equal(new AirlockError('E_USAGE', 'x').exitCode, EXIT.USAGE);
    assert.equal(new AirlockError('E_SIGNATURE_INVALID', 'x').exitCode, EXIT.DENIED);
    assert.equal(new AirlockError('E_INPUT_MISSING', 'x').exitCode, EXIT.UNAVAILABLE);
    assert.equal(new AirlockError('E_INTERNAL', 'x').exitCode, EXIT.INTERNAL);
  });

  it('fromFsError maps ENOENT to E_INPUT_MISSING', async () => {
    const err = await readFile('/nonexistent/airlock').catch((e: unknown) => fromFsError(e, '/nonexistent/airlock'));
    assert.ok(err instanceof AirlockError);
    assert.equal(err.code, 'E_INPUT_MISSING');
  });

  it('fromFsError maps other failures to E_IO', () => {
    const err = fromFsError(Object.assign(new Error('permission denied'), { code: 'EACCES' }), '/x', 'write');
    assert.equal(err.code, 'E_IO');
    assert.equal(err.exitCode, 3);
  });

  it('every error code is triggered by at least one test', async () => {
    const { readdir } = await import('node:fs/promises');
    const root = new URL('../', import.meta.url);
    const files = (await readdir(root, { recursive: true })).filter(
      (f) => f.endsWith('.test.ts') && !f.startsWith('node_modules'),
    );
    const text = (await Promise.all(files.map((f) => readFile(new URL(f, root), 'utf8')))).join('\n');
    const untested = Object.keys(ERROR_CODES).filter((code) => !text.includes(code));
    assert.deepEqual(untested, []);
  });

  it('docs/errors.md documents every code with its exit code, and nothing else', async () => {
    const doc = await readFile(new URL('../docs/errors.md', import.meta.url), 'utf8');
    const rows = new Map([...doc.matchAll(/^\| `(E_[A-Z0-9_]+)` \| (\d) \|/gm)].map((m) => [m[1], Number(m[2])]));
    for (const [code, spec] of Object.entries(ERROR_CODES)) {
      assert.equal(rows.get(code), spec.exit, `${code} must be documented with exit ${spec.exit}`);
    }
    for (const code of rows.keys()) assert.ok(code && code in ERROR_CODES, `${code} is documented but not defined`);
  });
});
