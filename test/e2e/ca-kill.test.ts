// `airlock ca serve` killed with SIGKILL at random moments while clients keep asking for certificates,
// again and again, and restarted on the same AIRLOCK_HOME each time: every certificate a client got
// (a 200 with a chain) is in the audit trail as a `ca.issue` event naming its serial and digest
// (write-ahead: nothing handed out without its record), the trail verifies after every kill, the
// server starts again on it and issues again each time, and a last clean stop leaves a trail that
// verifies too. A few kills land during start-up instead (the CA key being opened, the audit log's
// recovery). Events for certificates no client received are allowed: a kill between the record and
// the answer leaves one, and that is what write-ahead means.
//
// The schedule (kill moments, which kills hit start-up) comes from a seeded PRNG; the seed is printed,
// and AIRLOCK_CRASH_SEED=<seed> replays it (not the interleaving of requests, which the OS decides).
import assert from 'node:assert/strict';
import { createHash, createPublicKey, generateKeyPairSync, type KeyObject, sign, X509Certificate } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { verifyAuditLog } from '../../src/audit/audit-log.ts';
import { runCli } from '../helpers/cli.ts';
import { spawnServer } from '../helpers/log-server.ts';
import { kubernetesClaims, testIssuer } from '../helpers/oidc-issuer.ts';
import { seededRandom, testSeed } from '../helpers/seeded-random.ts';
import { useTempDir } from '../helpers/temp-dir.ts';

const SEED = testSeed('AIRLOCK_CRASH_SEED');
const LOAD_KILLS = 12;
const STARTUP_KILLS = 3;
const CLIENTS = 6;
const ISSUER = 'https://kubernetes.default.svc.cluster.local';
const SUB = 'system:serviceaccount:ci:builder';

const dir = useTempDir('airlock-ca-kill-');
const p = (name: string) => join(dir, name);
const home = p('ca-home');

interface Received {
  readonly serial: string;
  readonly digest: string;
  readonly round: number;
}

/** Clients asking for certificates back to back from whichever server is up (none while it is down). */
class Clients {
  url: string | undefined;
  round = 0;
  readonly received: Received[] = [];
  /** Answers that were neither a chain nor a broken connection: the CA refusing a good request. */
  readonly refusals: string[] = [];
  #running = true;
  readonly #done: Promise<void[]>;
  readonly #caKey: KeyObject;
  readonly #body: (key: KeyObject) => string;

  constructor(caPem: string, token: string) {
    this.#caKey = new X509Certificate(caPem).publicKey;
    this.#body = (key) =>
      JSON.stringify({
        credentials: { oidcIdentityToken: token },
        publicKeyRequest: {
          publicKey: { algorithm: 'ECDSA', content: createPublicKey(key).export({ format: 'pem', type: 'spki' }) },
          proofOfPossession: sign('sha256', Buffer.from(SUB), key).toString('base64'),
        },
      });
    this.#done = Promise.all(Array.from({ length: CLIENTS }, () => this.#loop()));
  }

  async #loop(): Promise<void> {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const body = this.#body(privateKey);
    while (this.#running) {
      const url = this.url;
      if (url === undefined) {
        await sleep(10);
        continue;
      }
      const round = this.round;
      let answer: Response;
      try {
        answer = await fetch(`${url}/api/v2/signingCert`, { method: 'POST', body });
      } catch {
        continue; // the server was killed under this request: no certificate
      }
      const text = await answer.text().catch(() => undefined);
      if (text === undefined) continue;
      if (answer.status !== 200) {
        this.refusals.push(`${answer.status} ${text.slice(0, 300)}`);
        continue;
      }
      this.#keep(text, round);
    }
  }

  #keep(text: string, round: number): void {
    const chain = (JSON.parse(text) as { signedCertificateDetachedSct: { chain: { certificates: string[] } } })
      .signedCertificateDetachedSct.chain.certificates;
    const leaf = new X509Certificate(chain[0] ?? '');
    assert.ok(leaf.verify(this.#caKey), 'the leaf is signed by the CA');
    const digest = `sha256:${createHash('sha256').update(leaf.raw).digest('hex')}`;
    this.received.push({ serial: leaf.serialNumber, digest, round });
  }

  stop(): Promise<void[]> {
    this.#running = false;
    return this.#done;
  }
}

async function until(condition: () => boolean, ms: number): Promise<boolean> {
  for (const deadline = performance.now() + ms; !condition() && performance.now() < deadline;) await sleep(10);
  return condition();
}

/** The `ca.issue` events of a trail that must verify, as serial → certificate digest. */
async function auditedIssuances(when: string): Promise<Map<string, string | undefined>> {
  const audit = await verifyAuditLog(home);
  assert.ok(audit.ok, `the audit trail does not verify ${when} (seed ${SEED}): ${JSON.stringify(audit.problems)}`);
  const issued = new Map<string, string | undefined>();
  for (const { event } of audit.events) {
    if (event.action !== 'ca.issue') continue;
    issued.set(String(event.details?.serial), event.subjects[0]?.digest);
  }
  return issued;
}

/** Which rounds kill during start-up: never the first (it creates the audit trail the rest check). */
function startupRounds(random: () => number): Set<number> {
  const rounds = new Set<number>();
  while (rounds.size < STARTUP_KILLS) rounds.add(1 + Math.floor(random() * (LOAD_KILLS + STARTUP_KILLS - 1)));
  return rounds;
}

async function setUpCa(): Promise<{ args: string[]; caPem: string; token: string }> {
  const env = { AIRLOCK_PASSWORD: 'pw', AIRLOCK_HOME: p('home') };
  assert.equal((await runCli(['key', 'generate', '--output-key-prefix', p('ca')], { env })).code, 0);
  const subject = 'O=airlock test,CN=airlock kill-test CA';
  const init = await runCli(['ca', 'init', '--key', p('ca.key'), '--subject', subject, '-o', p('ca.pem')], { env });
  assert.equal(init.code, 0, init.stderr);
  const issuer = await testIssuer(ISSUER, 'RS256');
  await writeFile(p('jwks.json'), JSON.stringify(issuer.jwks));
  const args = [
    ...['ca', 'serve', '--key', p('ca.key'), '--chain', p('ca.pem'), '--listen', '127.0.0.1:0'],
    ...['--oidc-issuer', `${ISSUER}=${p('jwks.json')},type=kubernetes`, '--rate-limit', '0'],
  ];
  const token = await issuer.sign(kubernetesClaims(ISSUER, new Date(), 'ci', 'builder'));
  return { args, caPem: await readFile(p('ca.pem'), 'utf8'), token };
}

it(
  'a CA killed with SIGKILL while issuing, again and again, never handed out a certificate without its record',
  { timeout: 180_000 },
  async () => {
    console.log(`ca kill test: seed ${SEED} (replay with AIRLOCK_CRASH_SEED=${SEED})`);
    const random = seededRandom(SEED);
    const { args, caPem, token } = await setUpCa();
    const clients = new Clients(caPem, token);
    const startMs: number[] = [];
    const serveEnv = { AIRLOCK_HOME: home };
    // The server up now, so a failing assertion does not leave it running.
    let live: { kill(): Promise<void> } | undefined;

    const start = async (label: string) => {
      const spawned = spawnServer(args, serveEnv);
      const started = performance.now();
      const server = await spawned.ready.catch(() =>
        assert.fail(`ca serve did not start ${label} (seed ${SEED}):\n${spawned.stderr()}`),
      );
      startMs.push(performance.now() - started);
      live = server;
      return server;
    };

    const killUnderLoad = async (round: number) => {
      const server = await start(`in round ${round}`);
      const before = clients.received.length;
      clients.round = round;
      clients.url = server.url;
      const issued = await until(() => clients.received.length > before, 15_000);
      assert.ok(issued, `the restarted CA issued nothing in round ${round} (seed ${SEED}): ${clients.refusals[0]}`);
      await sleep(random() * 500);
      await server.kill();
      clients.url = undefined;
    };

    const killDuringStartup = async (round: number) => {
      const spawned = spawnServer(args, serveEnv);
      const typical = startMs.reduce((a, b) => a + b, 0) / startMs.length;
      await sleep(random() * typical);
      await spawned.kill();
      assert.equal(
        spawned.child.signalCode,
        'SIGKILL',
        `ca serve exited by itself in round ${round}: ${spawned.stderr()}`,
      );
    };

    try {
      const startup = startupRounds(random);
      for (let round = 0; round < LOAD_KILLS + STARTUP_KILLS; round++) {
        await (startup.has(round) ? killDuringStartup(round) : killUnderLoad(round));
        await auditedIssuances(`after the kill in round ${round}`);
      }
      const last = await start('after the last kill');
      const before = clients.received.length;
      clients.round = LOAD_KILLS + STARTUP_KILLS;
      clients.url = last.url;
      assert.ok(await until(() => clients.received.length > before, 15_000), 'the CA issues after the last kill');
      await clients.stop();
      assert.equal(await last.stop(), 0, 'a clean stop');
    } finally {
      await clients.stop();
      await live?.kill();
    }

    assert.deepEqual(clients.refusals, [], `the CA refused good requests (seed ${SEED})`);
    const audited = await auditedIssuances('after the clean stop');
    const unrecorded = clients.received.filter((r) => audited.get(r.serial) !== r.digest);
    assert.deepEqual(
      unrecorded.slice(0, 10),
      [],
      `${unrecorded.length} certificates handed out without their audit record (seed ${SEED})`,
    );
    const rounds = new Set(clients.received.map((r) => r.round));
    assert.equal(rounds.size, LOAD_KILLS + 1, 'certificates were issued in every round that served');
    console.log(
      `  ${clients.received.length} certificates received, ${audited.size} recorded ` +
        `(${audited.size - clients.received.length} recorded but never answered: killed in between); ` +
        `start-up ${Math.round(Math.min(...startMs))}-${Math.round(Math.max(...startMs))} ms`,
    );
  },
);
