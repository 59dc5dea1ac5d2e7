import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseOsRelease, parseOsReleaseFields } from './os-release.ts';

describe('os-release(5)', () => {
  it('reads Debian’s file: quoted and unquoted values, ID_LIKE as a list', () => {
    const text = [
      'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"',
      'NAME="Debian GNU/Linux"',
      'VERSION_ID="12"',
      'VERSION_CODENAME=bookworm',
      'ID=debian',
      'ID_LIKE="rhel  fedora"',
      '',
    ].join('\n');
    assert.deepEqual(parseOsRelease(text), {
      id: 'debian',
      versionId: '12',
      versionCodename: 'bookworm',
      prettyName: 'Debian GNU/Linux 12 (bookworm)',
      idLike: ['rhel', 'fedora'],
    });
  });

  it('undoes the shell escapes inside double quotes, keeps single-quoted text as it is', () => {
    const f = parseOsReleaseFields(`A="say \\"hi\\" \\$HOME \\\\ \\\`x\\\`"\nB='a \\"b'\n# C=comment\n  D=spaced  \n`);
    assert.equal(f.get('A'), 'say "hi" $HOME \\ `x`');
    assert.equal(f.get('B'), 'a \\"b');
    assert.equal(f.has('C'), false);
    assert.equal(f.get('D'), 'spaced');
  });

  it('skips malformed lines and defaults ID to linux', () => {
    const f = parseOsReleaseFields('X="unterminated\nY=two words\nnot an assignment\nZ=ok\n');
    assert.deepEqual([...f.entries()], [['Z', 'ok']]);
    assert.deepEqual(parseOsRelease('VERSION_ID=3.19.1\n'), { id: 'linux', versionId: '3.19.1', idLike: [] });
  });
});
