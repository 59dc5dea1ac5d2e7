import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { finding } from '../../test/helpers/osv.ts';
import { AirlockError } from '../errors.ts';
import { enforceScanGate, evaluateGate } from './gate.ts';

const critical = finding('CVE-1', { severity: 'critical' });
const high = finding('CVE-2', { severity: 'high' });
const low = finding('CVE-3', { severity: 'low' });
const unknown = finding('CVE-4', { severity: 'unknown' });
const unevaluable = finding('CVE-5', { severity: 'medium', unevaluable: "'1.x' is not a version" });
const ids = (fs: readonly { id: string }[]) => fs.map((f) => f.id);

describe('evaluateGate', () => {
  it('fails findings at or above failOn, not below', () => {
    const r = evaluateGate([critical, high, low], { failOn: 'high', unknownSeverity: 'fail' });
    assert.equal(r.pass, false);
    assert.deepEqual(ids(r.failing), ['CVE-1', 'CVE-2']);
    assert.equal(evaluateGate([high, low], { failOn: 'critical', unknownSeverity: 'fail' }).pass, true);
  });

  it('unknown severity fails unless warned about, and is counted either way', () => {
    const failing = evaluateGate([low, unknown], { failOn: 'critical', unknownSeverity: 'fail' });
    assert.deepEqual([failing.pass, ids(failing.failing), failing.unknownCount], [false, ['CVE-4'], 1]);
    const warned = evaluateGate([low, unknown], { failOn: 'critical', unknownSeverity: 'warn' });
    assert.deepEqual([warned.pass, ids(warned.warnings), warned.unknownCount], [true, ['CVE-4'], 1]);
  });

  it('unevaluable findings always fail, even when warned about unknowns and without failOn', () => {
    for (const options of [{ failOn: 'critical', unknownSeverity: 'warn' }, { unknownSeverity: 'warn' }] as const) {
      const r = evaluateGate([low, unevaluable], options);
      assert.deepEqual([r.pass, ids(r.failing), r.unevaluableCount], [false, ['CVE-5'], 1]);
    }
  });

  it('anything not evaluated always fails, whatever failOn and unknownSeverity say', () => {
    const item = { what: '3 rpm package(s) of rhel 9', why: 'no OSV ecosystem' };
    for (const options of [{ failOn: 'critical', unknownSeverity: 'warn' }, { unknownSeverity: 'warn' }] as const) {
      const r = evaluateGate([low], options, [item]);
      assert.deepEqual([r.pass, r.failing, r.notEvaluated], [false, [], [item]]);
      assert.throws(
        () => enforceScanGate(r, options, 'image refused'),
        (e: AirlockError) => e.code === 'E_GATE' && e.message.includes('not evaluated: 3 rpm package(s) of rhel 9'),
      );
    }
  });

  it('without failOn no severity fails', () => {
    assert.equal(evaluateGate([critical, low], { unknownSeverity: 'fail' }).pass, true);
  });

  it('enforceScanGate throws E_GATE naming what failed; a passing gate does nothing', () => {
    const options = { failOn: 'high', unknownSeverity: 'fail' } as const;
    enforceScanGate(evaluateGate([low], options), options, 'image refused');
    assert.throws(
      () => enforceScanGate(evaluateGate([critical, unevaluable, low], options), options, 'image refused'),
      (e: unknown) =>
        e instanceof AirlockError &&
        e.code === 'E_GATE' &&
        /2 finding\(s\) fail the gate/.test(e.message) &&
        /CVE-5 \(unevaluable: '1\.x' is not a version\) in openssl@3\.0\.11-1/.test(e.message),
    );
  });
});
