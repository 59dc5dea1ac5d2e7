import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { useTempDir } from '../../test/helpers/temp-dir.ts';
import { AirlockError } from '../errors.ts';
import { type ReadFailure, readFileBounded, readOptionalText } from './read-file.ts';

describe('reading a file with a bound', () => {
  const dir = useTempDir('airlock-read-file-');

  it('reads a file within the bound, and refuses one over it from its size', async () => {
    const path = join(dir, 'ten');
    await writeFile(path, '0123456789');
    assert.equal((await readFileBounded(path, 10, 'a test file')).toString(), '0123456789');
    await assert.rejects(readFileBounded(path, 9, 'a test file'), (err: AirlockError) => {
      assert.equal(err.code, 'E_INPUT_MALFORMED');
      assert.match(err.message, /10 bytes of data; a test file is at most 9 bytes/);
      return true;
    });
  });

  it('a missing file is E_INPUT_MISSING, a folder E_INPUT_MALFORMED', async () => {
    await assert.rejects(readFileBounded(join(dir, 'none'), 10, 'x'), { code: 'E_INPUT_MISSING' });
    await assert.rejects(readFileBounded(dir, 10, 'x'), { code: 'E_INPUT_MALFORMED' });
  });

  it('a state file that does not exist reads as undefined; one that exists as its text', async () => {
    assert.equal(await readOptionalText(join(dir, 'absent.json')), undefined);
    await writeFile(join(dir, 'present.json'), '{}');
    assert.equal(await readOptionalText(join(dir, 'present.json')), '{}');
  });

  it('any other failure is the coded error, or what the caller makes of it with the system code', async () => {
    const file = join(dir, 'plain');
    await writeFile(file, 'x');
    const throughAFile = join(file, 'below'); // a path through a file: ENOTDIR, not "missing"
    await assert.rejects(readOptionalText(throughAFile), { code: 'E_IO' });
    const seen: ReadFailure[] = [];
    const corrupt = (f: ReadFailure) => {
      seen.push(f);
      return new AirlockError('E_TRUST_ROOT', `corrupt: ${f.reason}`);
    };
    await assert.rejects(readOptionalText(throughAFile, 'x', 10, corrupt), { code: 'E_TRUST_ROOT' });
    assert.equal(seen[0]?.systemCode, 'ENOTDIR');
    assert.match(seen[0]?.reason ?? '', /^ENOTDIR: not a directory/);
    // A bound is no system error: the caller sees airlock's own message and no system code.
    await assert.rejects(readOptionalText(file, 'a state file', 0, corrupt), { code: 'E_TRUST_ROOT' });
    assert.equal(seen[1]?.systemCode, undefined);
    assert.match(seen[1]?.reason ?? '', /a state file is at most 0 bytes/);
  });
});
