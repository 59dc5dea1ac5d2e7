// What an attacker probe of the transfer rules found open, each closed and kept closed here: tags that
// hold signatures, tags moved by an import left half-way, a planted journal, one registry spelled two
// ways, inspect saying yes where import says no, documents left out, a gate over one platform of many,
// approvals that did not fit, channel names that collide with state files.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { basename, join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { verifyAuditLog } from '../../src/audit/audit-log.ts';
import { openLayoutStore } from '../../src/oci/layout/layout-store.ts';
import { runCliProcess } from '../helpers/cli.ts';
import { makeTestImage, makeTestIndex } from '../helpers/oci-images.ts';
import { registryAvailable, registryProxy, startRegistry, type TestRegistry } from '../helpers/registry.ts';
import { useTempDir } from '../helpers/temp-dir.ts';

let registry: TestRegistry | undefined;
// Registered before the folder below (after hooks run in order): the registry stops first.
after(() => registry?.stop());
const dir = useTempDir('airlock-attacks-');
const missingRegistry = registryAvailable();
const home = (n: string) => join(dir, `home-${n}`);
const cli = (args: string[], h: string) =>
  runCliProcess(args, { env: { AIRLOCK_PASSWORD: 'pw', AIRLOCK_HOME: home(h) } });
const layout = (name: string) => `oci:${join(dir, name)}:1`;
const packTrust = () => ['--image-key', join(dir, 'img.pub'), '--insecure-ignore-tlog'];
const trust = () => ['--signer-key', join(dir, 'release.pub'), '--key', join(dir, 'img.pub'), '--insecure-ignore-tlog'];
/** Each package is its channel's first, from a packer of its own, unless `packer` names a shared one. */
const pack = (images: string[], out: string, channel: string, extra: string[] = [], packer = `pack-${basename(out)}`) =>
  cli(
    [
      'pack',
      ...images,
      '-o',
      out,
      '--key',
      join(dir, 'release.key'),
      '--channel',
      channel,
      ...packTrust(),
      ...extra,
      '--json',
    ],
    packer,
  );
const doc = (r: { stdout: string }) => JSON.parse(r.stdout);

async function image(name: string, legacy = false): Promise<string> {
  const store = await openLayoutStore(join(dir, name), { create: true });
  await makeTestImage(store, { tag: '1', layers: 1, layerSize: 1000 });
  await store.close();
  const r = await cli(
    [
      'sign',
      layout(name),
      '--key',
      join(dir, 'img.key'),
      '--tlog-upload=false',
      ...(legacy ? ['--legacy-signature', '--sign-container-identity', `example.com/${name}`] : []),
    ],
    'keys',
  );
  assert.equal(r.code, 0, r.stderr);
  return layout(name);
}

/** Recomputes a folder package's manifest and re-signs it with the release key: a packer with a valid key who lies. */
async function resign(pkg: string): Promise<void> {
  const files: string[] = [];
  for (const entry of await readdir(pkg, { withFileTypes: true, recursive: true })) {
    const rel = relative(pkg, join(entry.parentPath, entry.name));
    if (entry.isFile() && !rel.startsWith('manifest.sha256')) files.push(rel);
  }
  files.sort();
  const lines = await Promise.all(
    files.map(
      async (f) =>
        `${createHash('sha256')
          .update(await readFile(join(pkg, f)))
          .digest('hex')}  ${f}\n`,
    ),
  );
  await writeFile(join(pkg, 'manifest.sha256'), lines.join(''));
  await rm(join(pkg, 'manifest.sha256.sigstore.json'));
  const r = await cli(
    [
      'sign-blob',
      join(pkg, 'manifest.sha256'),
      '--key',
      join(dir, 'release.key'),
      '--bundle',
      join(pkg, 'manifest.sha256.sigstore.json'),
      '--tlog-upload=false',
    ],
    'keys',
  );
  assert.equal(r.code, 0, r.stderr);
}

async function editMetadata(
  pkg: string,
  edit: (m: { artifacts: Array<Record<string, unknown>> }) => void,
): Promise<void> {
  const path = join(pkg, 'airlock-transfer.json');
  const meta = JSON.parse(await readFile(path, 'utf8'));
  edit(meta);
  await writeFile(path, JSON.stringify(meta));
  await resign(pkg);
}

before(async () => {
  for (const k of ['release', 'img'])
    assert.equal((await cli(['key', 'generate', '--output-key-prefix', join(dir, k)], 'keys')).code, 0);
  if (!missingRegistry) registry = await startRegistry();
});

describe('tags that hold signatures', () => {
  it('no destination may be a signature tag (sha256-…), at pack or in signed metadata', async () => {
    const ref = await image('sigtag');
    const r = await pack([ref], join(dir, 'sigtag.tar'), 'prod', ['--name', `${ref}=app:sha256-${'a'.repeat(64)}`]);
    assert.equal(r.code, 2);
    const pkg = join(dir, 'sigtag-dir');
    assert.equal((await pack([ref], pkg, 'prod', ['--format', 'dir'])).code, 0);
    await editMetadata(pkg, (m) => {
      m.artifacts[0]!.destination = `app:sha256-${'a'.repeat(64)}.sig`;
    });
    const i = await cli(['inspect', pkg, ...trust(), '--channel', 'prod', '--json'], 'sigtag-air');
    assert.equal(i.code, 3, i.stderr);
    assert.match(doc(i).error.message, /a tag signatures are kept under/);
  });

  it("cosign's .sig tags move with the import's intent, and belong to the channel that wrote them", async (t) => {
    if (!registry) return t.skip(`docker-registry unavailable: ${missingRegistry}`);
    const ref = await image('legacy', true);
    const prod = join(dir, 'legacy-prod.tar');
    const test = join(dir, 'legacy-test.tar');
    assert.equal((await pack([ref], prod, 'prod', ['--name', `${ref}=leg/app:1.0`])).code, 0);
    assert.equal((await pack([ref], test, 'test', ['--name', `${ref}=leg/app`])).code, 0);
    const imp = (p: string, c: string) =>
      cli(
        ['import', p, '--registry', `${registry?.host}`, ...trust(), '--channel', c, '--insecure', '--json'],
        'legacy-air',
      );
    const first = await imp(prod, 'prod');
    assert.equal(first.code, 0, first.stderr);
    const sigTags = (doc(first).tags as Array<{ reference: string }>)
      .map((x) => x.reference)
      .filter((r) => r.endsWith('.sig'));
    assert.equal(sigTags.length, 1, 'the .sig tag is one of the tags the import moved');
    const intents = (await verifyAuditLog(home('legacy-air'))).events.filter(
      (e) => e.event.action === 'transfer.import.tags',
    );
    assert.ok(
      (intents[0]?.event.details?.tags as Array<{ tag: string }>).some((x) => x.tag === sigTags[0]),
      'named in the intent before it moved',
    );
    const second = await imp(test, 'test');
    assert.equal(second.code, 1, second.stderr);
    assert.equal(doc(second).error.code, 'E_CHANNEL');
    assert.match(doc(second).error.message, /\.sig belongs to channel prod/);
  });

  it('ownership is the repository and tag, however the registry host is spelled', async (t) => {
    if (!registry) return t.skip(`docker-registry unavailable: ${missingRegistry}`);
    const ref = await image('spelled');
    const prod = join(dir, 'spelled-prod.tar');
    const other = join(dir, 'spelled-other.tar');
    assert.equal((await pack([ref], prod, 'prod', ['--name', `${ref}=sp/app:1.0`])).code, 0);
    assert.equal((await pack([ref], other, 'other', ['--name', `${ref}=sp/app:1.0`])).code, 0);
    const port = registry.host.split(':')[1];
    assert.equal(
      (
        await cli(
          ['import', prod, '--registry', `127.0.0.1:${port}`, ...trust(), '--channel', 'prod', '--insecure'],
          'spelled-air',
        )
      ).code,
      0,
    );
    const r = await cli(
      ['import', other, '--registry', `localhost:${port}`, ...trust(), '--channel', 'other', '--insecure', '--json'],
      'spelled-air',
    );
    assert.equal(r.code, 1, r.stderr);
    assert.equal(doc(r).error.code, 'E_CHANNEL');
  });
});

describe('an import left half-way', () => {
  it('keeps the tags it moved: another channel cannot take them before it is finished', async (t) => {
    if (!registry) return t.skip(`docker-registry unavailable: ${missingRegistry}`);
    const [a, b] = [await image('half-a'), await image('half-b')];
    const cha = join(dir, 'half-cha.tar');
    const chb = join(dir, 'half-chb.tar');
    assert.equal((await pack([a, b], cha, 'cha', ['--name', `${a}=half/x:a`, '--name', `${b}=half/x:b`])).code, 0);
    assert.equal((await pack([a], chb, 'chb', ['--name', `${a}=half/x:a`])).code, 0);
    let fail = true;
    const proxy = await registryProxy(registry.host, (req, res) => {
      if (!(fail && req.method === 'PUT' && req.url?.endsWith('/manifests/b'))) return false;
      req.resume();
      res.writeHead(500).end('{"errors":[{"code":"UNKNOWN","message":"disk full"}]}');
      return true;
    });
    try {
      const stopped = await cli(
        ['import', cha, '--registry', proxy.host, ...trust(), '--channel', 'cha', '--insecure', '--json'],
        'half-air',
      );
      assert.equal(doc(stopped).error.code, 'E_IMPORT_INCOMPLETE', stopped.stderr);
      const taken = await cli(
        ['import', chb, '--registry', proxy.host, ...trust(), '--channel', 'chb', '--insecure', '--json'],
        'half-air',
      );
      assert.equal(taken.code, 1, taken.stderr);
      assert.equal(doc(taken).error.code, 'E_CHANNEL', 'the half-way import owns half/x:a already');
      fail = false;
      const done = await cli(['import', '--recover', '--registry', proxy.host, '--insecure', '--json'], 'half-air');
      assert.equal(done.code, 0, done.stderr);
      assert.equal(doc(done).recovered[0].outcome, 'finished');
    } finally {
      proxy.close();
    }
  });

  it(
    'a journal planted or edited in $AIRLOCK_HOME is never acted on; one with no recorded intent ' + 'is dropped',
    async (t) => {
      if (!registry) return t.skip(`docker-registry unavailable: ${missingRegistry}`);
      const [ok1, ok2] = [await image('plant-1'), await image('plant-2')];
      const pkg = join(dir, 'plant.tar');
      assert.equal(
        (await pack([ok1, ok2], pkg, 'prod', ['--name', `${ok1}=plant/app:1.0`, '--name', `${ok2}=plant/other:1.0`]))
          .code,
        0,
      );
      assert.equal(
        (
          await cli(
            ['import', pkg, '--registry', registry.host, ...trust(), '--channel', 'prod', '--insecure', '--json'],
            'plant-air',
          )
        ).code,
        0,
      );
      const tagDigest = async (repo: string) =>
        (
          await fetch(`${registry?.url}/v2/${repo}/manifests/1.0`, {
            method: 'HEAD',
            headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
          })
        ).headers.get('docker-content-digest');
      const [before, otherDigest] = [await tagDigest('plant/app'), await tagDigest('plant/other')];
      const stateBefore = await readFile(join(home('plant-air'), 'channels', 'in', 'prod.json'), 'utf8');
      const planted = {
        importId: 'evil',
        channel: 'prod',
        source: 'x',
        manifest: `sha256:${'1'.repeat(64)}`,
        number: 99,
        registry: registry.host,
        images: [{ name: 'x', reference: `${registry.host}/plant/app`, digest: otherDigest }],
        pushed: [],
        tags: [
          {
            reference: `${registry.host}/plant/app:1.0`,
            repository: 'plant/app',
            tag: '1.0',
            from: before,
            to: otherDigest,
          },
        ],
        channelState: { number: 99, manifest: `sha256:${'1'.repeat(64)}`, at: 'x', packageId: 'x' },
        startedAt: 'x',
      };
      await mkdir(join(home('plant-air'), 'imports', 'pending'), { recursive: true });
      await writeFile(join(home('plant-air'), 'imports', 'pending', 'prod.json'), JSON.stringify(planted));
      const r = await cli(['import', '--recover', '--registry', registry.host, '--insecure', '--json'], 'plant-air');
      assert.equal(r.code, 0, r.stderr);
      assert.equal(doc(r).recovered[0].outcome, 'dropped', 'no intent was ever recorded for it');
      assert.equal(await tagDigest('plant/app'), before, 'the tag did not move');
      assert.equal(
        await readFile(join(home('plant-air'), 'channels', 'in', 'prod.json'), 'utf8'),
        stateBefore,
        'the channel state did not move',
      );
      // A journal that claims the id of an intent the trail does hold, with other tags: refused.
      const realId = (await verifyAuditLog(home('plant-air'))).events.find(
        (e) => e.event.action === 'transfer.import.tags',
      )?.event.details?.importId;
      await writeFile(
        join(home('plant-air'), 'imports', 'pending', 'prod.json'),
        JSON.stringify({ ...planted, importId: realId }),
      );
      const edited = await cli(
        ['import', '--recover', '--registry', registry.host, '--insecure', '--json'],
        'plant-air',
      );
      assert.equal(edited.code, 3, edited.stderr);
      assert.match(doc(edited).error.message, /does not match the intent the audit trail holds/);
      assert.equal(await tagDigest('plant/app'), before);
      const malformed = { ...planted, tags: [{ ...planted.tags[0], to: `sha256:${'9'.repeat(64)}` }] };
      await writeFile(join(home('plant-air'), 'imports', 'pending', 'prod.json'), JSON.stringify(malformed));
      const notOurs = await cli(
        ['import', '--recover', '--registry', registry.host, '--insecure', '--json'],
        'plant-air',
      );
      assert.match(
        doc(notOurs).error.message,
        /damaged or not airlock's/,
        'a tag naming a manifest the import never pushed',
      );
    },
  );
});

describe('inspect says what import will say', () => {
  it('channel repositories and tag owners with --registry; gaps need --allow-gap as at import', async () => {
    const ref = await image('insp');
    const pkg = join(dir, 'insp.tar');
    assert.equal((await pack([ref], pkg, 'prod', ['--name', `${ref}=team/app:1.0`], 'insp-packer')).code, 0);
    await writeFile(
      join(dir, 'bound.json'),
      JSON.stringify({
        apiVersion: 'airlock/v1',
        kind: 'Channels',
        channels: [{ name: 'prod', repositories: ['mirror/**'] }],
      }),
    );
    const unbound = await cli(
      ['inspect', pkg, ...trust(), '--channels', join(dir, 'bound.json'), '--json'],
      'insp-air',
    );
    assert.equal(unbound.code, 0, unbound.stderr);
    assert.match(doc(unbound).channel.repositories, /not checked: give --registry/);
    const bound = await cli(
      ['inspect', pkg, ...trust(), '--channels', join(dir, 'bound.json'), '--registry', 'registry.internal', '--json'],
      'insp-air',
    );
    assert.equal(bound.code, 1);
    assert.equal(doc(bound).error.code, 'E_CHANNEL');
    const second = join(dir, 'insp-2.tar');
    assert.equal((await pack([ref], second, 'prod', ['--name', `${ref}=team/app:1.0`], 'insp-packer')).code, 0);
    const gap = await cli(['inspect', second, ...trust(), '--channel', 'prod', '--json'], 'insp-fresh');
    assert.equal(doc(gap).error.code, 'E_SEQUENCE', 'a fresh machine: #2 is not a first package');
    assert.equal(
      (await cli(['inspect', second, ...trust(), '--channel', 'prod', '--allow-gap', '--json'], 'insp-fresh')).code,
      0,
    );
  });
});

describe('documents', () => {
  it('a new-format package claiming a scan must carry it', async () => {
    const ref = await image('omit');
    const scan = join(dir, 'omit-scan.json');
    await writeFile(
      scan,
      JSON.stringify({
        matches: [{ vulnerability: { id: 'CVE-1', severity: 'Medium' }, artifact: { name: 'a', version: '1' } }],
      }),
    );
    const pkg = join(dir, 'omit-pkg');
    const packed = await pack([ref], pkg, 'prod', ['--format', 'dir', '--scan', `${ref}=${scan}`, '--fail-on', 'high']);
    assert.equal(packed.code, 0, packed.stdout);
    await rm(join(pkg, 'attachments'), { recursive: true });
    await editMetadata(pkg, (m) => {
      const s = m.artifacts[0]!.vulnerabilityScan as Record<string, unknown>;
      delete s.documents;
      delete s.subjects;
      s.counts = {};
    });
    const r = await cli(['inspect', pkg, ...trust(), '--channel', 'prod', '--json'], 'omit-air');
    assert.equal(r.code, 1, r.stderr);
    assert.equal(doc(r).error.code, 'E_PACKAGE_TAMPERED');
    assert.match(doc(r).error.message, /claims a scan but names no document/);
  });

  it('a gate over a multi-platform image needs a scan of every platform', async () => {
    const store = await openLayoutStore(join(dir, 'multi'), { create: true });
    const { images } = await makeTestIndex(
      store,
      [
        { os: 'linux', architecture: 'amd64' },
        { os: 'linux', architecture: 'arm64' },
      ],
      '1',
    );
    await store.close();
    const ref = layout('multi');
    assert.equal((await cli(['sign', ref, '--key', join(dir, 'img.key'), '--tlog-upload=false'], 'keys')).code, 0);
    const scanOf = async (n: number) => {
      const path = join(dir, `multi-scan-${n}.json`);
      await writeFile(
        path,
        JSON.stringify({
          matches: [],
          source: { type: 'image', target: { manifestDigest: images[n]?.manifest.digest, repoDigests: [] } },
        }),
      );
      return path;
    };
    const one = await pack([ref], join(dir, 'multi-1.tar'), 'prod', [
      '--scan',
      `${ref}=${await scanOf(0)}`,
      '--fail-on',
      'critical',
    ]);
    assert.equal(one.code, 2, one.stderr);
    assert.match(doc(one).error.message, /no scan of .* is about linux\/arm64/);
    const both = await pack([ref], join(dir, 'multi-2.tar'), 'prod', [
      '--scan',
      `${ref}=${await scanOf(0)}`,
      '--scan',
      `${ref}=${await scanOf(1)}`,
      '--fail-on',
      'critical',
    ]);
    assert.equal(both.code, 0, both.stderr);
    assert.equal(doc(both).metadata.artifacts[0].vulnerabilityScan.documents.length, 2);
    const i = await cli(['inspect', join(dir, 'multi-2.tar'), ...trust(), '--channel', 'prod', '--json'], 'multi-air');
    assert.equal(i.code, 0, i.stderr);
    assert.equal(doc(i).documents[0].scan.subjects.length, 2);
  });
});

describe('approve and channel names', () => {
  it(
    'approve refuses when no signature slot is left, instead of dropping its own; its record names ' + 'the package',
    async () => {
      const ref = await image('slots');
      const pkg = join(dir, 'slots-pkg');
      assert.equal((await pack([ref], pkg, 'prod', ['--format', 'dir'])).code, 0);
      for (let n = 2; n <= 16; n++) await writeFile(join(pkg, `manifest.sha256.${n}.sigstore.json`), '{}');
      const r = await cli(
        [
          'approve',
          pkg,
          '-o',
          join(dir, 'slots-out'),
          '--format',
          'dir',
          '--key',
          join(dir, 'img.key'),
          '--signer-key',
          join(dir, 'release.pub'),
          '--json',
        ],
        'slots',
      );
      assert.equal(r.code, 3, r.stderr);
      assert.match(doc(r).error.message, /no room for another/);
      const event = (await verifyAuditLog(home('slots'))).events.at(-1)?.event;
      assert.equal(event?.action, 'transfer.approve');
      assert.equal(event?.subjects[0]?.name, pkg);
    },
  );

  it("channels named like state files ('tags', 'x.pending') are channels like any other", async (t) => {
    if (!registry) return t.skip(`docker-registry unavailable: ${missingRegistry}`);
    const ref = await image('names');
    for (const channel of ['tags', 'x.pending', 'x']) {
      const pkg = join(dir, `names-${channel}.tar`);
      const p = await pack([ref], pkg, channel, ['--name', `${ref}=names/${channel.replace('.', '-')}:1`]);
      assert.equal(p.code, 0, `${channel}: ${p.stderr}`);
      const i = await cli(
        ['import', pkg, '--registry', registry.host, ...trust(), '--channel', channel, '--insecure'],
        'names-air',
      );
      assert.equal(i.code, 0, `${channel}: ${i.stderr}`);
    }
  });
});
