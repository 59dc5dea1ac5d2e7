// `airlock vulndb build` (connected side): OSV exports (folders of records, all.zip files) into one
// signed database file that travels across the gap as one artifact.
import { resolve } from 'node:path';
import { keyFingerprint } from '../../../crypto/keys.ts';
import { AirlockError } from '../../../errors.ts';
import { buildVulnDb } from '../../../vuln/db/build.ts';
import type { Command } from '../../command.ts';
import { KEY_FLAGS, keySigner } from '../../options/key.ts';
import { formatBytes, formatProgress, throttled } from '../../progress.ts';

export const vulndbBuildCommand: Command = {
  name: 'vulndb build',
  audit: 'vulndb.build',
  summary: 'Build a signed vulnerability database from OSV exports (connected side)',
  usage: 'SOURCE... -o DB --key REF [--force]',
  description:
    'SOURCE is a folder of OSV JSON records (read recursively) or an all.zip as osv.dev publishes one per\n' +
    'ecosystem. A record found twice keeps its newest `modified`. The manifest (build time, counts per\n' +
    'ecosystem and source, content hash) is signed with --key; the file is written under a temporary name\n' +
    'and renamed when complete. Carry it across and install it with `airlock vulndb import`.',
  flags: {
    output: { type: 'string', short: 'o', value: 'DB', description: 'The database file to write' },
    force: { type: 'boolean', description: 'Replace DB if it exists' },
    ...KEY_FLAGS,
  },
  positionals: { min: 1, max: Number.POSITIVE_INFINITY },
  examples: [
    {
      command: 'airlock vulndb build PyPI/all.zip Debian/all.zip -o vuln.db --key vulndb.key',
      description: 'Two osv.dev exports into one signed database',
    },
    {
      command: "airlock vulndb build advisories/ -o vuln.db --key 'pkcs11:token=ci;object=vulndb'",
      description: 'A folder of records, signed in an HSM',
    },
  ],
  async run(ctx) {
    const out = ctx.flags.string('output');
    if (!out) throw new AirlockError('E_USAGE', 'vulndb build needs -o DB: the database file to write');
    const keyRef = ctx.flags.string('key');
    if (!keyRef)
      throw new AirlockError(
        'E_USAGE',
        'vulndb build needs --key REF: an unsigned database is refused by every import',
      );
    const signer = await keySigner(ctx, keyRef);
    const progress = throttled((p: { done: number; total: number }) =>
      ctx.out.progress(formatProgress({ done: p.done, total: p.total, unit: 'records' })),
    );
    try {
      const built = await buildVulnDb({
        sources: ctx.positionals.map((p) => resolve(ctx.cwd, p)),
        out: resolve(ctx.cwd, out),
        signer,
        now: ctx.now(),
        overwrite: ctx.flags.bool('force'),
        ...(ctx.out.showsProgress ? { onProgress: progress } : {}),
      });
      progress.flush();
      ctx.out.progressDone();
      const { manifest } = built;
      ctx.audit.subject(out);
      ctx.audit.detail('contentSha256', manifest.contentSha256);
      ctx.audit.detail('records', manifest.records);
      ctx.audit.detail('key', keyFingerprint(signer.publicKey));
      ctx.out.info(
        `Built ${out}: ${manifest.records} records (${manifest.withdrawn} withdrawn, ${manifest.duplicates} ` +
          `duplicates replaced), ${formatBytes(built.bytes)}, signed with ${signer.description}`,
      );
      for (const [ecosystem, n] of Object.entries(manifest.ecosystems)) ctx.out.info(`  ${ecosystem.padEnd(24)} ${n}`);
      return { json: { path: out, bytes: built.bytes, signer: keyFingerprint(signer.publicKey), manifest } };
    } finally {
      ctx.out.progressDone();
      await signer.close();
    }
  },
};
