import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Command } from './command.ts';
import { renderCommandHelp } from './help.ts';

const command: Command = {
  name: 'key generate',
  aliases: ['generate-key-pair'],
  summary: 's',
  usage: '',
  flags: { 'certificate-oidc-issuer-regexp': { type: 'string', value: 'RE', description: 'OIDC issuer as a regexp' } },
  positionals: { min: 0, max: 0 },
  examples: [],
  run: () => Promise.resolve({}),
};

describe('renderCommandHelp', () => {
  it('names the aliases, and keeps a long flag apart from its description', () => {
    const help = renderCommandHelp(command);
    assert.match(help, /^Also: airlock generate-key-pair \(the same command\)$/m);
    assert.match(help, /--certificate-oidc-issuer-regexp RE {2}OIDC issuer as a regexp/);
  });
});
