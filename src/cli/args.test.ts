import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isAirlockError } from '../errors.ts';
import { normaliseBooleanAssignments, parseCommandArgs } from './args.ts';

const specs = {
  force: { type: 'boolean', description: '' },
  upload: { type: 'boolean', default: true, description: '' },
  key: { type: 'string', description: '' },
  n: { type: 'string', description: '' },
} as const;

describe('normaliseBooleanAssignments', () => {
  it('turns --x=false into --no-x and --x=true into --x, leaves strings alone', () => {
    assert.deepEqual(normaliseBooleanAssignments(['--upload=false', '--force=true', '--key=a=b'], specs), [
      '--no-upload',
      '--force',
      '--key=a=b',
    ]);
  });
  it('gives a string flag with a bare value that value when it stands alone, and only then', () => {
    const withBare = { ...specs, scan: { type: 'string', multiple: true, bare: 'generate', description: '' } } as const;
    assert.deepEqual(normaliseBooleanAssignments(['--scan', '--force', 'img', '--scan'], withBare), [
      '--scan=generate',
      '--force',
      'img',
      '--scan=generate',
    ]);
    assert.deepEqual(normaliseBooleanAssignments(['--scan', 'img=report.json'], withBare), [
      '--scan',
      'img=report.json',
    ]);
    const parsed = parseCommandArgs(['--scan', 'a=b.json', '--scan'], withBare, 'airlock x');
    assert.deepEqual(parsed.flags.strings('scan'), ['a=b.json', 'generate']);
    // A flag without a bare value still needs one.
    assert.throws(
      () => parseCommandArgs(['--key', '--force'], specs, 'airlock x'),
      (e) => isAirlockError(e, 'E_USAGE'),
    );
  });
  it('stops at --', () => {
    assert.deepEqual(normaliseBooleanAssignments(['--', '--upload=false'], specs), ['--', '--upload=false']);
  });
});

describe('parseCommandArgs', () => {
  it('defaults, negation and positionals', () => {
    const { flags, positionals } = parseCommandArgs(['file', '--no-upload', '--key', 'k.pem'], specs, 'airlock x');
    assert.equal(flags.bool('upload'), false);
    assert.equal(flags.bool('force'), false);
    assert.equal(flags.string('key'), 'k.pem');
    assert.deepEqual(positionals, ['file']);
    assert.equal(parseCommandArgs([], specs, 'airlock x').flags.bool('upload'), true);
  });
  it('missing flag value is E_USAGE', () => {
    assert.throws(
      () => parseCommandArgs(['--key'], specs, 'airlock x'),
      (e) => isAirlockError(e, 'E_USAGE'),
    );
  });
  it('choice() takes one of its words, the fallback when absent, and names them otherwise', () => {
    const formats = ['table', 'json'] as const;
    assert.equal(parseCommandArgs(['--n', 'json'], specs, 'airlock x').flags.choice('n', formats, 'table'), 'json');
    assert.equal(parseCommandArgs([], specs, 'airlock x').flags.choice('n', formats, 'table'), 'table');
    assert.throws(
      () => parseCommandArgs(['--n', 'yaml'], specs, 'airlock x').flags.choice('n', formats, 'table'),
      (e) => isAirlockError(e, 'E_USAGE') && /--n takes table, json; got 'yaml'/.test(e.message),
    );
  });
  it('int() validates range', () => {
    const { flags } = parseCommandArgs(['--n', '7'], specs, 'airlock x');
    assert.equal(flags.int('n', 1, 0, 10), 7);
    assert.throws(
      () => flags.int('n', 1, 0, 5),
      (e) => isAirlockError(e, 'E_USAGE'),
    );
    const bad = parseCommandArgs(['--n=-1x'], specs, 'airlock x').flags;
    assert.throws(
      () => bad.int('n', 1),
      (e) => isAirlockError(e, 'E_USAGE'),
    );
  });
});

describe('an unknown flag', () => {
  const usage = (argv: string[]) => {
    try {
      parseCommandArgs(argv, specs, 'airlock x');
    } catch (err) {
      if (isAirlockError(err, 'E_USAGE')) return `${err.message} | ${err.hint}`;
      throw err;
    }
    assert.fail('parsed');
  };
  it('names the closest declared flag', () => {
    assert.equal(
      usage(['--keyy', 'k.pem']),
      "unknown flag '--keyy' | did you mean --key? run 'airlock x --help' for usage",
    );
    assert.equal(usage(['--forse']), "unknown flag '--forse' | did you mean --force? run 'airlock x --help' for usage");
    assert.equal(
      usage(['--no-uplaod']),
      "unknown flag '--no-uplaod' | did you mean --no-upload? run 'airlock x --help' for usage",
    );
    assert.equal(usage(['--kye=k.pem']), "unknown flag '--kye' | did you mean --key? run 'airlock x --help' for usage");
  });
  it('suggests nothing when nothing is close', () => {
    assert.equal(usage(['--certificate']), "unknown flag '--certificate' | run 'airlock x --help' for usage");
  });
});
