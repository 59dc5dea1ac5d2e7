import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { COMMAND_ENTRIES, loadCommands } from './index.ts';

describe('command index', () => {
  it('names and aliases each command exactly as the command names itself', async () => {
    const loaded = await loadCommands();
    assert.deepEqual(
      COMMAND_ENTRIES.map((e) => ({ name: e.name, aliases: e.aliases ?? [] })),
      loaded.map((c) => ({ name: c.name, aliases: c.aliases ?? [] })),
    );
  });

  it('lists every command once', () => {
    const names = COMMAND_ENTRIES.flatMap((e) => [e.name, ...(e.aliases ?? [])]);
    assert.equal(new Set(names).size, names.length);
  });
});
