// verify-blob / sign-blob / attest-blob on inputs that are not regular files — a FIFO, a shell's
// `<(...)` — as a user's shell hands them over: read once, as a bounded stream, never held whole.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { openLayoutStore } from '../../src/oci/layout/layout-store.ts';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { MAX_BUNDLE_BYTES } from '../../src/sigstore/limits.ts';
import { AIRLOCK_BIN, runCliProcess } from '../helpers/cli.ts';
import { makeTestImage } from '../helpers/oci-images.ts';
import { useTempDir } from '../helpers/temp-dir.ts';

const dir = useTempDir('airlock-e2e-verify-');
const env = () => ({ ...process.env, AIRLOCK_PASSWORD: 'pw', AIRLOCK_HOME: join(dir, 'home') });
const key = () => join(dir, 'release.key');
const pub = () => join(dir, 'release.pub');
const cli = (args: string[]) => runCliProcess(args, { env: env() });
const fifoMissing = spawnSync('mkfifo', ['--version']).status === 0 ? false : 'mkfifo is not installed';

// Reports the process's peak resident memory (kB) on stderr as it exits.
const RSS_REPORTER =
  `data:text/javascript,process.on('exit',()=>` +
  `process.stderr.write('\\nmaxrss='+process.resourceUsage().maxRSS+'\\n'))`;

interface BashResult {
  code: number;
  stdout: string;
  stderr: string;
  /** Peak resident memory of the airlock process, in MiB. */
  maxRssMiB: number;
}

/**
 * Runs `script` in bash, where "$AIRLOCK" runs airlock (reporting its peak memory): process substitution as a user's
 * shell does it.
 */
function bash(script: string): Promise<BashResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', script], {
      env: { ...env(), AIRLOCK: `${process.execPath} --import ${RSS_REPORTER} ${AIRLOCK_BIN}`, DIR: dir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const rss = [...stderr.matchAll(/maxrss=(\d+)/g)].map((m) => Number(m[1]));
      resolve({ code: code ?? -1, stdout, stderr, maxRssMiB: Math.max(0, ...rss) / 1024 });
    });
  });
}

/**
 * A FIFO at `path` fed `bytes` by a writer process; `done` settles when the writer exits (also when the reader stops
 * early).
 */
function fifoFrom(path: string, source: string): { done: Promise<void> } {
  assert.equal(spawnSync('mkfifo', [path]).status, 0);
  const writer = spawn('sh', ['-c', 'cat "$0" > "$1"', source, path], { stdio: 'ignore' });
  return { done: new Promise((resolve) => writer.on('close', () => resolve())) };
}

before(async () => {
  await writeFile(join(dir, 'app.tar'), 'the artifact\n');
  const r = await cli(['key', 'generate', '--output-key-prefix', join(dir, 'release')]);
  assert.equal(r.code, 0, r.stderr);
  const s = await cli([
    'sign-blob',
    join(dir, 'app.tar'),
    '--key',
    key(),
    '--tlog-upload=false',
    '--bundle',
    join(dir, 'app.sigstore.json'),
  ]);
  assert.equal(s.code, 0, s.stderr);
});

describe('inputs that are not regular files', { skip: fifoMissing }, () => {
  it('verify-blob reads the artifact and the bundle from FIFOs', async () => {
    const artifact = fifoFrom(join(dir, 'artifact.fifo'), join(dir, 'app.tar'));
    const bundle = fifoFrom(join(dir, 'bundle.fifo'), join(dir, 'app.sigstore.json'));
    const r = await cli([
      'verify-blob',
      join(dir, 'artifact.fifo'),
      '--bundle',
      join(dir, 'bundle.fifo'),
      '--key',
      pub(),
      '--insecure-ignore-tlog',
    ]);
    await Promise.all([artifact.done, bundle.done]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /Verified OK/);
  });

  // Attack: a bundle "file" that never ends (a FIFO, /dev/zero, a huge download) must not be read whole.
  it(
    'a bundle over the cap streamed from a FIFO is refused with E_INPUT_MALFORMED (exit 3), not ' + 'read whole',
    async () => {
      // A valid bundle padded past the cap: read whole, it would verify.
      const text = await readFile(join(dir, 'app.sigstore.json'), 'utf8');
      await writeFile(join(dir, 'padded.json'), text.replace(/}\s*$/, `${' '.repeat(MAX_BUNDLE_BYTES)}}`));
      const fed = fifoFrom(join(dir, 'padded.fifo'), join(dir, 'padded.json'));
      const r = await cli([
        'verify-blob',
        join(dir, 'app.tar'),
        '--bundle',
        join(dir, 'padded.fifo'),
        '--key',
        pub(),
        '--insecure-ignore-tlog',
      ]);
      await fed.done;
      assert.equal(r.code, 3, r.stderr);
      assert.match(r.stderr, /a Sigstore bundle is at most 16 MiB \[E_INPUT_MALFORMED\]/);
      // The same bytes as a regular file: refused from its size, before it is read.
      const file = await cli([
        'verify-blob',
        join(dir, 'app.tar'),
        '--bundle',
        join(dir, 'padded.json'),
        '--key',
        pub(),
        '--insecure-ignore-tlog',
      ]);
      assert.equal(file.code, 3, file.stderr);
      assert.match(file.stderr, /E_INPUT_MALFORMED/);
    },
  );

  it('verify (an image) --bundle from a FIFO over the cap: the same refusal', async () => {
    const layout = join(dir, 'fifo-layout');
    const store = await openLayoutStore(layout, { create: true });
    await makeTestImage(store, { tag: 'v1', layers: 1, layerSize: 1000 });
    await store.close();
    const fed = fifoFrom(join(dir, 'padded-image.fifo'), join(dir, 'padded.json'));
    const r = await cli([
      'verify',
      `oci:${layout}:v1`,
      '--bundle',
      join(dir, 'padded-image.fifo'),
      '--key',
      pub(),
      '--insecure-ignore-tlog',
    ]);
    await fed.done;
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /a Sigstore bundle is at most 16 MiB \[E_INPUT_MALFORMED\]/);
  });

  // 384 MiB through a pipe: read whole, the process would hold all of it.
  it('sign-blob, attest-blob and verify-blob hash a large <(...) stream without holding it', async () => {
    const size = 384 * 1024 * 1024;
    const signed = await bash(
      `$AIRLOCK sign-blob <(head -c ${size} /dev/zero) --key "$DIR/release.key" ` +
        `--tlog-upload=false --bundle "$DIR/zeros.json"`,
    );
    assert.equal(signed.code, 0, signed.stderr);
    const attested = await bash(
      `$AIRLOCK attest-blob <(head -c ${size} /dev/zero) --predicate <(echo '{}') --type custom ` +
        `--key "$DIR/release.key" --tlog-upload=false --bundle "$DIR/zeros.att.json"`,
    );
    assert.equal(attested.code, 0, attested.stderr);
    const verified = await bash(
      `$AIRLOCK verify-blob <(head -c ${size} /dev/zero) --bundle <(cat "$DIR/zeros.json") --key ` +
        `"$DIR/release.pub" --insecure-ignore-tlog --json`,
    );
    assert.equal(verified.code, 0, verified.stderr);
    const report = JSON.parse(verified.stdout);
    const zeros = createHash('sha256');
    for (let left = size; left > 0; left -= 1 << 20) zeros.update(Buffer.alloc(1 << 20));
    assert.equal(report.artifact.digests.sha256, `sha256:${zeros.digest('hex')}`);
    for (const r of [signed, attested, verified])
      assert.ok(
        r.maxRssMiB > 0 && r.maxRssMiB < 300,
        `peak memory ${r.maxRssMiB.toFixed(0)} MiB for a ${size >> 20} MiB input`,
      );
  });
});

describe('digests in either case', () => {
  it('verify-blob takes sha256:<HEX> in uppercase as the digest it is', async () => {
    const hex = createHash('sha256')
      .update(await readFile(join(dir, 'app.tar')))
      .digest('hex');
    for (const digest of [`sha256:${hex}`, `sha256:${hex.toUpperCase()}`]) {
      const r = await cli([
        'verify-blob',
        digest,
        '--bundle',
        join(dir, 'app.sigstore.json'),
        '--key',
        pub(),
        '--insecure-ignore-tlog',
        '--json',
      ]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(JSON.parse(r.stdout).artifact.digests.sha256, `sha256:${hex}`);
    }
  });
});

describe('cosign users: detached signatures, bundles signed offline', () => {
  const artifact = () => join(dir, 'app.tar');

  it('verify-blob --signature checks the signature sign-blob --output-signature writes, with --key', async () => {
    const sig = join(dir, 'app.tar.sig');
    const s = await cli(['sign-blob', artifact(), '--key', key(), '--tlog-upload=false', '--output-signature', sig]);
    assert.equal(s.code, 0, s.stderr);
    const ok = await cli(['verify-blob', artifact(), '--signature', sig, '--key', pub(), '--insecure-ignore-tlog']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stderr, /Verified OK/);
    // cosign also reads a signature file holding the raw bytes, and a trailing newline.
    await writeFile(join(dir, 'app.tar.sig.raw'), Buffer.from(await readFile(sig, 'utf8'), 'base64'));
    await writeFile(join(dir, 'app.tar.sig.nl'), `${await readFile(sig, 'utf8')}\n`);
    for (const file of ['app.tar.sig.raw', 'app.tar.sig.nl']) {
      const r = await cli([
        'verify-blob',
        artifact(),
        '--signature',
        join(dir, file),
        '--key',
        pub(),
        '--insecure-ignore-tlog',
      ]);
      assert.equal(r.code, 0, `${file}: ${r.stderr}`);
    }
    await writeFile(join(dir, 'other.tar'), 'another artifact\n');
    const wrong = await cli([
      'verify-blob',
      join(dir, 'other.tar'),
      '--signature',
      sig,
      '--key',
      pub(),
      '--insecure-ignore-tlog',
    ]);
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /E_SIGNATURE_INVALID/);
  });

  it('verify-blob --signature is for keys only, and says that it needs --insecure-ignore-tlog', async () => {
    const sig = join(dir, 'app.tar.sig');
    const keyless = await cli([
      'verify-blob',
      artifact(),
      '--signature',
      sig,
      '--certificate-identity',
      'x',
      '--certificate-oidc-issuer',
      'y',
    ]);
    assert.equal(keyless.code, 2);
    assert.match(keyless.stderr, /--key only: keyless signatures/);
    const noIgnore = await cli(['verify-blob', artifact(), '--signature', sig, '--key', pub()]);
    assert.equal(noIgnore.code, 2);
    assert.match(noIgnore.stderr, /no transparency-log entry: add --insecure-ignore-tlog/);
    const both = await cli([
      'verify-blob',
      artifact(),
      '--signature',
      sig,
      '--bundle',
      join(dir, 'app.sigstore.json'),
      '--key',
      pub(),
      '--insecure-ignore-tlog',
    ]);
    assert.equal(both.code, 2);
  });

  // A trusted root naming some log: the verdict is then about the bundle, not about a missing root.
  async function someRoot(): Promise<string> {
    const out = join(dir, 'root.json');
    const r = await cli([
      'trust',
      'create',
      '--out',
      out,
      '--force',
      `--rekor=url=http://log.example,public-key=${pub()},start-time=2026-01-01T00:00:00Z,origin=log.example`,
    ]);
    assert.equal(r.code, 0, r.stderr);
    return out;
  }

  it(
    'verify-blob of a bundle signed offline, without --insecure-ignore-tlog: the missing log entry ' +
      'is named as the reason',
    async () => {
      const r = await cli([
        'verify-blob',
        artifact(),
        '--bundle',
        join(dir, 'app.sigstore.json'),
        '--key',
        pub(),
        '--trusted-root',
        await someRoot(),
      ]);
      assert.equal(r.code, 1, r.stderr);
      assert.match(
        r.stderr,
        // eslint-disable-next-line max-len -- a whole message or wire format, matched as one regular expression
        /the bundle has no transparency-log entry and 1 is required: .*--insecure-ignore-tlog verifies it against the key alone \[E_TLOG_ENTRY\]/,
      );
    },
  );

  it(
    'with no trust root either, the refusal says a bundle signed offline needs none with ' + '--insecure-ignore-tlog',
    async () => {
      const r = await cli(['verify-blob', artifact(), '--bundle', join(dir, 'app.sigstore.json'), '--key', pub()]);
      assert.equal(r.code, 3, r.stderr);
      assert.match(r.stderr, /E_TRUST_ROOT_MISSING/);
      assert.match(r.stderr, /signed offline .* with --key and --insecure-ignore-tlog/);
    },
  );

  it('verify (an image) of a signature made offline, without --insecure-ignore-tlog: the same reason', async () => {
    const layout = join(dir, 'layout');
    const store = await openLayoutStore(layout, { create: true });
    await makeTestImage(store, { tag: 'v1', layers: 1, layerSize: 1000 });
    await store.close();
    const s = await cli(['sign', `oci:${layout}:v1`, '--key', key(), '--tlog-upload=false']);
    assert.equal(s.code, 0, s.stderr);
    const r = await cli(['verify', `oci:${layout}:v1`, '--key', pub(), '--trusted-root', await someRoot()]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /the bundle has no transparency-log entry and 1 is required: .*--insecure-ignore-tlog/);
  });
});
