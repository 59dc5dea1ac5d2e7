// airlock-transfer.json: what the parser accepts and what it refuses. The metadata is covered by the
// signed manifest, but a signer's tool can still be buggy or hostile: shape errors must be refusals.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FORMAT, parseMetadata } from './format.ts';

const D = `sha256:${'a'.repeat(64)}`;
const image = { kind: 'image', name: 'registry.corp/app:1.0', digest: D, layoutTag: '1-app', signedBy: [] };
const file = { kind: 'file', path: 'notes.txt', sha256: 'b'.repeat(64), signedBy: ['SHA256:x'] };
const doc = (over: object) =>
  Buffer.from(
    JSON.stringify({
      format: FORMAT,
      packageId: 'p',
      createdAt: '2026-01-01T00:00:00Z',
      tool: 't',
      sequence: { channel: 'prod', number: 1, previous: null },
      artifacts: [image, file],
      approvedBy: [],
      ...over,
    }),
  );

describe('parseMetadata', () => {
  it('reads a well-formed document', () => {
    const m = parseMetadata(doc({}));
    assert.equal(m.sequence.channel, 'prod');
    assert.equal(m.artifacts.length, 2);
  });

  it('refuses malformed artifacts with E_INPUT_MALFORMED, naming the entry', () => {
    const cases: Array<[string, unknown[]]> = [
      ['unknown kind', [{ ...image, kind: 'helm' }]],
      ['no kind', [null]],
      ['image digest not sha256', [{ ...image, digest: 'md5:00' }]],
      ['image name not a string', [{ ...image, name: 7 }]],
      ['image without layoutTag', [{ ...image, layoutTag: undefined }]],
      [
        'a layoutTag that is a path (inspect --documents-out writes by it)',
        [{ ...image, layoutTag: '../../../../tmp/escaped' }],
      ],
      ['a layoutTag with a slash', [{ ...image, layoutTag: 'a/b' }]],
      [
        'scan documents not a list',
        [{ ...image, vulnerabilityScan: { result: 'passed', counts: {}, gate: null, documents: 'x.json' } }],
      ],
      [
        'a scan document outside the package',
        [{ ...image, vulnerabilityScan: { result: 'passed', counts: {}, gate: null, documents: ['../x.json'] } }],
      ],
      ['the same image twice', [image, { ...image, layoutTag: '2-app' }]],
      ['file digest not hex', [{ ...file, sha256: 'zz' }]],
      ['file path missing', [{ ...file, path: undefined }]],
      ['signedBy not a list', [{ ...file, signedBy: 'me' }]],
    ];
    for (const [why, artifacts] of cases) {
      assert.throws(
        () => parseMetadata(doc({ artifacts })),
        { code: 'E_INPUT_MALFORMED', message: /artifacts\[\d\]/ },
        why,
      );
    }
  });

  it('refuses a malformed sequence or format', () => {
    for (const sequence of [
      { channel: '../x', number: 1, previous: null },
      { channel: 'a', number: 0, previous: null },
      { channel: 'a', number: 2, previous: 'sha1:00' },
    ]) {
      assert.throws(() => parseMetadata(doc({ sequence })), { code: 'E_INPUT_MALFORMED' }, JSON.stringify(sequence));
    }
    assert.throws(() => parseMetadata(doc({ format: 'airlock-transfer/v9' })), {
      code: 'E_INPUT_MALFORMED',
      message: /unknown format/,
    });
    assert.throws(() => parseMetadata(Buffer.from('{')), { code: 'E_INPUT_MALFORMED', message: /not JSON/ });
  });
});

describe('createdAt', () => {
  it('is an RFC 3339 time with its offset: never a date alone, a local time or another type', () => {
    assert.equal(
      parseMetadata(doc({ createdAt: '2026-12-07T10:00:00.123+01:00' })).createdAt,
      '2026-12-07T10:00:00.123+01:00',
    );
    for (const bad of [
      '2026-12-07',
      '2026-12-07T10:00:00',
      'Mon, 07 Dec 2026 10:00:00 GMT',
      null,
      ['2026-12-07T10:00:00Z'],
      1765101600,
    ]) {
      assert.throws(
        () => parseMetadata(doc({ createdAt: bad })),
        (err: Error & { code?: string }) => err.code === 'E_INPUT_MALFORMED',
        JSON.stringify(bad),
      );
    }
  });
});
