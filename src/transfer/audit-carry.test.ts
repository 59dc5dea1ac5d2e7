import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';
import { useTempDirs } from '../../test/helpers/temp-dir.ts';
import { AuditLog } from '../audit/audit-log.ts';
import type { AuditEvent } from '../audit/event.ts';
import { createKeyObjectSigner } from '../crypto/key-object-signer.ts';
import {
  AUDIT_CHECKPOINT_NAME,
  AUDIT_CONSISTENCY_NAME,
  type AuditMark,
  type CarriedAudit,
  carryAudit,
  verifyCarriedAudit,
} from './audit-carry.ts';

const tempDir = useTempDirs();

const key = generateKeyPairSync('ed25519').privateKey;
const signer = () => createKeyObjectSigner(key, 'ed25519', 'connected audit key');
const event = (n: number, action = 'transfer.pack'): AuditEvent => ({
  id: `e${n}`,
  time: '2026-11-21T00:00:00.000Z',
  actor: 'ci',
  host: 'build-1',
  tool: 'airlock test',
  action,
  result: 'ok',
  subjects: [],
});

/** A connected side: its own audit log, appended to between packages. */
async function connectedSide() {
  const dir = await tempDir('airlock-carry-');
  const log = await AuditLog.open(dir, { signer: signer() });
  let n = 0;
  return {
    log,
    async decide(count: number, action?: string) {
      for (let i = 0; i < count; i++) await log.append(event(n++, action));
    },
  };
}

const files = (carried: CarriedAudit) => new Map(carried.files.map((f) => [f.path, f.data]));

describe('the audit checkpoint carried across the gap', () => {
  it('chains package to package: first, then extends with a verified consistency proof', async () => {
    const side = await connectedSide();
    await side.decide(3);
    const p1 = await carryAudit(side.log, []);
    const first = verifyCarriedAudit(files(p1), undefined, false);
    assert.equal(first.verdict.kind, 'first');
    await side.decide(5);
    const p2 = await carryAudit(side.log, [p1.mark]);
    const second = verifyCarriedAudit(files(p2), first.mark, false);
    assert.equal(second.verdict.kind, 'extends');
    assert.equal(second.mark.size, 8);
    // A re-run of the same package is the same checkpoint.
    assert.equal(verifyCarriedAudit(files(p2), second.mark, false).verdict.kind, 'extends');
    await side.log.close();
  });

  it('a rewritten history (same key, other events) cannot prove it extends the kept checkpoint', async () => {
    const honest = await connectedSide();
    await honest.decide(4);
    const kept = verifyCarriedAudit(files(await carryAudit(honest.log, [])), undefined, false).mark;
    const rewritten = await connectedSide();
    await rewritten.decide(2);
    await rewritten.decide(4, 'transfer.approve');
    // The rewriter claims to extend the kept mark: the proof it can compute is over another tree.
    const forged = await carryAudit(rewritten.log, [kept]);
    assert.throws(() => verifyCarriedAudit(files(forged), kept, false), { code: 'E_LOG_INCONSISTENT' });
    await honest.log.close();
    await rewritten.log.close();
  });

  it('a truncated or reset history is refused; so is a package from another audit key', async () => {
    const side = await connectedSide();
    await side.decide(6);
    const kept: AuditMark = verifyCarriedAudit(files(await carryAudit(side.log, [])), undefined, false).mark;
    const smaller = await connectedSide();
    await smaller.decide(2);
    const truncated = files(await carryAudit(smaller.log, [kept]));
    assert.throws(() => verifyCarriedAudit(truncated, kept, false), { code: 'E_LOG_INCONSISTENT' });
    const otherDir = await tempDir('airlock-carry-');
    const other = await AuditLog.open(otherDir, {
      signer: createKeyObjectSigner(generateKeyPairSync('ed25519').privateKey, 'ed25519', 'k'),
    });
    await other.append(event(0));
    const foreign = files(await carryAudit(other, []));
    assert.throws(() => verifyCarriedAudit(foreign, kept, false), { code: 'E_KEY_MISMATCH' });
    await Promise.all([side.log.close(), smaller.log.close(), other.close()]);
  });

  it(
    'a skipped package still chains through the older proofs a package carries; without them it is ' +
      'refused, or unchained with --allow-gap',
    async () => {
      const side = await connectedSide();
      await side.decide(2);
      const p1 = await carryAudit(side.log, []);
      const kept = verifyCarriedAudit(files(p1), undefined, false).mark;
      await side.decide(2);
      const p2 = await carryAudit(side.log, [p1.mark]);
      await side.decide(2);
      const p3 = await carryAudit(side.log, [p2.mark, p1.mark]);
      assert.equal(
        verifyCarriedAudit(files(p3), kept, false).verdict.kind,
        'extends',
        'p2 skipped: the proof from p1 still links',
      );
      const onlyNewest = await carryAudit(side.log, [p2.mark]);
      assert.throws(() => verifyCarriedAudit(files(onlyNewest), kept, false), { code: 'E_LOG_INCONSISTENT' });
      assert.equal(verifyCarriedAudit(files(onlyNewest), kept, true).verdict.kind, 'unchained');
      await side.log.close();
    },
  );

  it('--allow-gap never accepts a history smaller than the one kept', async () => {
    const honest = await connectedSide();
    await honest.decide(10);
    const kept = verifyCarriedAudit(files(await carryAudit(honest.log, [])), undefined, false).mark;
    const rewritten = await connectedSide();
    await rewritten.decide(3, 'transfer.approve');
    const smaller = files(await carryAudit(rewritten.log, []));
    assert.throws(() => verifyCarriedAudit(smaller, kept, true), { code: 'E_LOG_INCONSISTENT' });
    await Promise.all([honest.log.close(), rewritten.log.close()]);
  });

  it('a checkpoint not signed by the carried key, a bad proof file, or a missing part is refused', async () => {
    const side = await connectedSide();
    await side.decide(3);
    const carried = files(await carryAudit(side.log, []));
    const note = (carried.get(AUDIT_CHECKPOINT_NAME) as Buffer).toString('utf8').replace(/\n3\n/, '\n4\n');
    assert.throws(
      () => verifyCarriedAudit(new Map([...carried, [AUDIT_CHECKPOINT_NAME, Buffer.from(note)]]), undefined, false),
      { code: 'E_TLOG_CHECKPOINT' },
    );
    assert.throws(
      () =>
        verifyCarriedAudit(
          new Map([...carried, [AUDIT_CONSISTENCY_NAME, Buffer.from('{"from":null,"proof":["x"]}')]]),
          undefined,
          false,
        ),
      { code: 'E_INPUT_MALFORMED' },
    );
    const partial = new Map(carried);
    partial.delete(AUDIT_CONSISTENCY_NAME);
    assert.throws(() => verifyCarriedAudit(partial, undefined, false), { code: 'E_PACKAGE_TAMPERED' });
    await side.log.close();
  });
});
