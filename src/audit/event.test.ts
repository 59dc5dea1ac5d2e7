import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_ENTRY_SIZE } from '../log/tiles.ts';
import { parseEvent, serializeEvent } from './event.ts';

const base = {
  time: '2026-12-07T10:00:00.000Z',
  actor: 'alice',
  host: 'h',
  tool: 'airlock test',
  action: 'transfer.import',
  result: 'refused' as const,
};

describe('serializeEvent', () => {
  it('a refusal whose reason, subjects and details come from outside and are huge still fits one entry', () => {
    const huge = 'z'.repeat(2 * MAX_ENTRY_SIZE);
    const bytes = serializeEvent({
      ...base,
      reason: `E_PACKAGE_TAMPERED: ${huge}`,
      subjects: Array.from({ length: 5000 }, (_, i) => ({ name: `${huge}-${i}`, digest: `sha256:${'0'.repeat(64)}` })),
      details: {
        problems: Array.from({ length: 5000 }, () => huge.slice(0, 1000)),
        path: 'evil\u001b[2K\nresult: ok',
        checkpoint: 'origin\n3\nroot=\n\n— sig\n',
      },
    });
    assert.ok(bytes.length <= MAX_ENTRY_SIZE, `${bytes.length} bytes`);
    const event = parseEvent(bytes, 'test');
    assert.match(event.reason ?? '', /^E_PACKAGE_TAMPERED: z+…\(\d+ more characters\)$/);
    assert.equal(event.subjects.length, 33);
    assert.match(event.subjects.at(-1)?.name ?? '', /4968 more \(5000 in all\)/);
    assert.equal(
      (event.details as { path: string }).path,
      'evil\\u001b[2K\nresult: ok',
      'control characters escaped; a newline stays (JSON escapes it)',
    );
    assert.equal(
      (event.details as { checkpoint: string }).checkpoint,
      'origin\n3\nroot=\n\n— sig\n',
      'evidence stays byte for byte',
    );
  });
});
