// Test data for the vulnerability database's tests: OSV records and the folders and zips that carry them,
// made in the test (zips by Python's own zipfile module, as an independent writer).
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { createKeyObjectSigner } from '../../src/crypto/key-object-signer.ts';
import type { Signer } from '../../src/crypto/signer.ts';

export function osvRecord(
  id: string,
  packages: readonly (readonly [ecosystem: string, name: string])[],
  modified = '2024-01-01T00:00:00Z',
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    schema_version: '1.7.0',
    id,
    modified,
    aliases: [`CVE-${id}`],
    affected: packages.map(([ecosystem, name]) => ({
      package: { ecosystem, name },
      ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '2.0' }] }],
    })),
    ...extra,
  };
}

/** Writes each record as `dir/<sub>/<id>.json`. */
export async function writeRecords(dir: string, records: readonly Record<string, unknown>[], sub = 'x'): Promise<void> {
  for (const r of records) {
    const path = join(dir, sub, `${String(r.id)}.json`);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, JSON.stringify(r));
  }
}

/** `zip` made from the files of `dir` by Python's zipfile (`python3 -m zipfile -c`). */
export function zipFolder(dir: string, zip: string): void {
  execFileSync('/usr/bin/python3', ['-m', 'zipfile', '-c', zip, '.'], { cwd: dir });
}

export interface TestKey {
  readonly signer: Signer;
  readonly publicKey: KeyObject;
  readonly privateKey: KeyObject;
}

export function testKey(): TestKey {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { signer: createKeyObjectSigner(privateKey, 'ecdsa-sha2-256-nistp256', 'test key'), publicKey, privateKey };
}
