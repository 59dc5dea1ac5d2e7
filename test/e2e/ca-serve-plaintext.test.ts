// Identity tokens are bearer credentials: whoever reads one off the wire gets, until it expires, a
// certificate for that identity over a key of their own. `ca serve` without --tls-cert on an address other
// hosts can reach sends them in the clear, so it must say so (as `trust create` warns about a chain
// fetched over plain http); on loopback it need not.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCliProcess } from '../helpers/cli.ts';
import { spawnServer } from '../helpers/log-server.ts';
import { testIssuer } from '../helpers/oidc-issuer.ts';
import { useTempDir } from '../helpers/temp-dir.ts';

const ISSUER = 'https://kubernetes.default.svc.cluster.local';
const dir = useTempDir('airlock-ca-plaintext-');
const p = (name: string) => join(dir, name);
const stops: Array<() => Promise<unknown>> = [];
after(() => Promise.all(stops.map((stop) => stop())));

before(async () => {
  const env = { env: { AIRLOCK_PASSWORD: 'pw', AIRLOCK_HOME: p('home') } };
  assert.equal((await runCliProcess(['key', 'generate', '--output-key-prefix', p('ca')], env)).code, 0);
  const init = await runCliProcess(
    ['ca', 'init', '--key', p('ca.key'), '--subject', 'CN=test CA', '-o', p('ca.pem')],
    env,
  );
  assert.equal(init.code, 0, init.stderr);
  await writeFile(p('jwks.json'), JSON.stringify((await testIssuer(ISSUER, 'ES256')).jwks));
});

async function serve(listen: string): Promise<string> {
  const spawned = spawnServer(
    [
      ...['ca', 'serve', '--key', p('ca.key'), '--chain', p('ca.pem'), '--listen', listen],
      ...['--oidc-issuer', `${ISSUER}=${p('jwks.json')},type=kubernetes`],
    ],
    { AIRLOCK_HOME: p('ca-home') },
  );
  const running = await spawned.ready;
  stops.push(() => running.stop());
  return spawned.stderr();
}

describe('airlock ca serve over plain http', () => {
  it('warns when it listens beyond loopback without TLS: tokens would cross the network in the clear', async () => {
    assert.match(await serve('0.0.0.0:0'), /warning:.*(plain http|TLS|--tls-cert)/i);
  });

  it('does not warn on loopback', async () => {
    assert.doesNotMatch(await serve('127.0.0.1:0'), /warning:/i);
  });
});
