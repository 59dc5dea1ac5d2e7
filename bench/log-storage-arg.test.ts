// Which storage `npm run bench -- log` measures: the option is taken out, everything else is left for
// the chosen bench's own parser, and a storage it does not know is refused rather than run as sqlite.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { takeStorage } from './log-storage-arg.ts';

describe('npm run bench -- log --storage', () => {
  const argv = ['node', 'bench/log.bench.ts'];

  it('is sqlite unless named, and leaves the other options alone', () => {
    assert.deepEqual(takeStorage([...argv, '--quick', '--seconds', '2']), {
      storage: 'sqlite',
      argv: [...argv, '--quick', '--seconds', '2'],
    });
  });

  it('takes --storage postgres and --storage=postgres out of argv, wherever they are', () => {
    assert.deepEqual(takeStorage([...argv, '--quick', '--storage', 'postgres', '--rounds', '1']), {
      storage: 'postgres',
      argv: [...argv, '--quick', '--rounds', '1'],
    });
    assert.deepEqual(takeStorage([...argv, '--storage=postgres']), { storage: 'postgres', argv });
    assert.deepEqual(takeStorage([...argv, '--storage', 'sqlite']), { storage: 'sqlite', argv });
  });

  it('refuses a storage it does not know, and --storage without a value', () => {
    assert.throws(() => takeStorage([...argv, '--storage', 'mysql']), /takes sqlite or postgres, not "mysql"/);
    assert.throws(() => takeStorage([...argv, '--storage=']), /takes sqlite or postgres, not ""/);
    assert.throws(() => takeStorage([...argv, '--storage']), /takes sqlite or postgres/);
  });
});
