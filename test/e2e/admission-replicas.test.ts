// Two replicas of the admission webhook behind one Service, one of them SIGKILLed under load. The test
// plays the API server: 20 clients send AdmissionReviews (each a different object, so each decision is
// a new audit record: the kill lands among audit writes) to the endpoints in turn over fresh HTTPS
// connections. As the API server's client does, a request whose connection could not be opened (a dead
// endpoint: nothing was sent) goes to the next endpoint; a request that was sent is never retried,
// whatever happens to it. What must hold:
//   - every answer with HTTP 200 is a well-formed AdmissionReview for the request's uid, with the
//     decision the image deserves (signed: allowed; unsigned: denied) — nothing garbled or crossed;
//   - every failure is a connection error (reset, hang-up) of a request sent to the killed replica
//     before it was gone — never another status, never a 200 with a bad body;
//   - the surviving replica answers everything after the kill;
//   - each replica's audit trail verifies afterwards (the killed one included), and holds every
//     decision it answered with 200 (decisions are recorded before they are answered).
import assert from 'node:assert/strict';
import { createPublicKey } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { generateWebhookTls, type WebhookTls } from '../../src/admission/webhook-tls.ts';
import { generatePrivateKey } from '../../src/crypto/generate-key.ts';
import { createKeyObjectSigner } from '../../src/crypto/key-object-signer.ts';
import { publicKeyPem } from '../../src/crypto/keys.ts';
import { openImage } from '../../src/oci/open-store.ts';
import { signImage } from '../../src/oci/sign-image.ts';
import {
  type Answer,
  checked,
  deployment,
  NAMESPACE,
  post,
  reviewOf,
  SERVICE,
  startServe,
} from '../helpers/admission.ts';
import { runCliProcess } from '../helpers/cli.ts';
import { makeTestImage } from '../helpers/oci-images.ts';
import type { StartedProcess } from '../helpers/process.ts';
import { registryAvailable, startRegistry, type TestRegistry } from '../helpers/registry.ts';
import { useTempDir } from '../helpers/temp-dir.ts';

const CLIENTS = 20;
const LOAD_MS = 4_000;
const unavailable = registryAvailable();

interface Outcome {
  readonly uid: string;
  readonly path: '/validate' | '/mutate';
  readonly signed: boolean;
  readonly port: number;
  readonly sentAt: number;
  readonly endedAt: number;
  readonly answer?: Answer;
  readonly error?: NodeJS.ErrnoException;
  readonly refusedFirst: boolean;
}

/** Connection errors: the connection was refused, reset or closed without an answer. */
const CONNECTION_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE']);
const isConnectionError = (err: NodeJS.ErrnoException) =>
  CONNECTION_ERRORS.has(err.code ?? '') || /socket hang up|Client network socket disconnected/.test(err.message);

describe('admission serve: two replicas, one SIGKILLed under load', { skip: unavailable }, () => {
  let registry: TestRegistry;
  let tls: WebhookTls;
  const replicas: { server: StartedProcess; port: number; home: string }[] = [];
  const images = { signed: '', unsigned: '' };
  after(async () => {
    for (const r of replicas) await r.server.stop();
    await registry?.stop();
  });
  const dir = useTempDir('airlock-admission-replicas-');

  before(async () => {
    registry = await startRegistry();
    const key = generatePrivateKey('ecdsa-p256');
    const signer = createKeyObjectSigner(key, 'ecdsa-sha2-256-nistp256', 'release');
    for (const name of ['signed', 'unsigned'] as const) {
      const ref = `${registry.host}/apps/${name}:1`;
      const { store } = await openImage(`docker://${ref}`, 'write', { insecure: true });
      const image = await makeTestImage(store, { tag: '1', layerSize: 512 });
      if (name === 'signed') await signImage(store, image.manifest, { signer, now: new Date() });
      await store.close();
      images[name] = ref;
    }
    await mkdir(join(dir, 'policy', 'keys'), { recursive: true });
    await writeFile(join(dir, 'policy', 'keys', 'release.pub'), publicKeyPem(createPublicKey(key)));
    const policyPath = join(dir, 'policy', 'policy.yaml');
    await writeFile(
      policyPath,
      `apiVersion: airlock/v1
kind: ImagePolicy
images:
  - glob: "${registry.host}/apps/**"
    authorities: [{ key: keys/release.pub }]
`,
    );
    tls = await generateWebhookTls({
      openssl: 'openssl',
      dir: join(dir, 'tls'),
      service: SERVICE,
      namespace: NAMESPACE,
      overwrite: false,
    });
    for (const name of ['a', 'b']) {
      const home = join(dir, `home-${name}`);
      const started = await startServe({ policyPath, tls, home, args: ['--insecure-ignore-tlog'] });
      replicas.push({ ...started, home });
    }
  });

  /** One request as the API server sends it; a refused connection goes to the next endpoint. */
  async function send(n: number): Promise<Outcome> {
    const signed = n % 3 !== 0;
    const path = n % 4 === 0 ? '/mutate' : '/validate';
    const r = reviewOf('Deployment', deployment(signed ? images.signed : images.unsigned), 'team-a', `app-${n}`);
    const ports = replicas.map((x) => x.port);
    let refusedFirst = false;
    for (let attempt = 0; attempt < ports.length; attempt++) {
      const port = ports[(n + attempt) % ports.length] ?? 0;
      const sentAt = Date.now();
      try {
        const answer = await post(port, tls, path, r.body, 15_000);
        return { uid: r.uid, path, signed, port, sentAt, endedAt: Date.now(), answer, refusedFirst };
      } catch (err) {
        const error = err as NodeJS.ErrnoException;
        // Refused: the connection never opened, nothing was sent — the next endpoint gets it.
        if (error.code === 'ECONNREFUSED' && attempt + 1 < ports.length) {
          refusedFirst = true;
          continue;
        }
        return { uid: r.uid, path, signed, port, sentAt, endedAt: Date.now(), error, refusedFirst };
      }
    }
    throw new Error('unreachable');
  }

  it('each 200 is a well-formed answer for its uid; failures are connection errors of requests in flight', async () => {
    const [victim, survivor] = replicas;
    assert.ok(victim && survivor);
    const outcomes: Outcome[] = [];
    let next = 0;
    const started = Date.now();
    const stopAt = started + LOAD_MS;
    const killAfter = 1000 + Math.floor(Math.random() * (LOAD_MS - 2000));
    let killedAt = Number.POSITIVE_INFINITY;
    // Until the kernel has torn the process down its listening socket still takes connections, which
    // are then reset: a request sent up to the exit is one in flight.
    let exitedAt = Number.POSITIVE_INFINITY;
    const killer = new Promise<void>((resolve) =>
      setTimeout(() => {
        victim.server.child.once('exit', () => {
          exitedAt = Date.now();
          resolve();
        });
        killedAt = Date.now();
        victim.server.child.kill('SIGKILL');
      }, killAfter),
    );
    const client = async () => {
      while (Date.now() < stopAt) outcomes.push(await send(next++));
    };
    await Promise.all([...Array.from({ length: CLIENTS }, client), killer]);
    const summary = {
      requests: outcomes.length,
      killAfterMs: killAfter,
      exitMs: exitedAt - killedAt,
      answered: outcomes.filter((o) => o.answer).length,
      failed: outcomes.filter((o) => o.error).length,
      movedOn: outcomes.filter((o) => o.refusedFirst).length,
    };
    console.log(`# ${JSON.stringify(summary)}`);

    for (const o of outcomes) {
      if (o.answer) {
        // Any status but 200 is a failure too: the API server would reject the request for it.
        const res = checked(o.answer, o.uid, o.path);
        if (o.path === '/validate') assert.equal(res.allowed, o.signed, `${o.uid}: ${o.answer.body}`);
        else {
          assert.equal(res.allowed, true);
          // /mutate pins whatever resolves (/validate is what denies): the patch names this request's image.
          const ops = JSON.parse(Buffer.from(res.patch ?? '', 'base64').toString()) as { value: string }[];
          const image = o.signed ? images.signed : images.unsigned;
          assert.match(ops[0]?.value ?? '', new RegExp(`^${image}@sha256:[0-9a-f]{64}$`), o.answer.body);
        }
      } else {
        const err = o.error;
        assert.ok(err && isConnectionError(err), `${o.uid} on :${o.port}: not a connection error: ${err?.stack}`);
        assert.equal(o.port, victim.port, `${o.uid}: the survivor failed a request: ${err?.message}`);
        assert.ok(o.sentAt <= exitedAt, `${o.uid}: sent after the exit, yet not moved on: ${err?.message}`);
      }
    }
    const before = outcomes.filter((o) => o.endedAt < killedAt && o.answer);
    assert.ok(
      before.some((o) => o.port === victim.port) && before.some((o) => o.port === survivor.port),
      'both replicas answered before the kill',
    );
    const afterKill = outcomes.filter((o) => o.sentAt > exitedAt);
    assert.ok(afterKill.length >= CLIENTS, `too few requests after the kill: ${afterKill.length}`);
    assert.ok(
      afterKill.every((o) => o.answer?.status === 200 && o.port === survivor.port),
      'after the kill, the survivor answers everything',
    );
    assert.ok(
      afterKill.some((o) => o.refusedFirst),
      'requests for the dead endpoint moved on to the survivor',
    );

    // Both audit trails verify, and each holds every decision its replica answered with 200.
    for (const replica of replicas) {
      const env = { AIRLOCK_HOME: replica.home };
      const verified = await runCliProcess(['audit', 'verify', '--json'], { env });
      assert.equal(verified.code, 0, `${replica.home}: ${verified.stdout}${verified.stderr}`);
      const shown = await runCliProcess(['audit', 'show', '--json'], { env });
      assert.equal(shown.code, 0, shown.stderr);
      const events = (JSON.parse(shown.stdout) as { events: { action: string; details?: { uid?: string } }[] }).events;
      const recorded = new Set(events.filter((e) => e.action.startsWith('admission.')).map((e) => e.details?.uid));
      const answered = outcomes.filter((o) => o.port === replica.port && o.answer?.status === 200);
      assert.ok(answered.length > 0, `${replica.home} answered nothing`);
      const missing = answered.filter((o) => !recorded.has(o.uid)).map((o) => o.uid);
      assert.deepEqual(missing, [], `${replica.home}: answered with 200 but not in the audit trail`);
    }
  });
});
