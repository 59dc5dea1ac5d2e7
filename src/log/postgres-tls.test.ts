// The PostgreSQL driver over TLS, against a real server with TLS turned on: sslmode as libpq names it,
// fail-closed (a server whose certificate does not check is refused; modes that check nothing are).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, chown, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { type PostgresServer, postgresAvailable, startPostgres } from '../../test/helpers/postgres.ts';
import { useTempDir } from '../../test/helpers/temp-dir.ts';
import { PostgresLogStorage } from './postgres-storage.ts';

const run = promisify(execFile);
const missing = postgresAvailable();

/** A CA, and a server certificate it issued for 127.0.0.1 and db.test; another CA that issued nothing. */
async function makeCertificates(dir: string): Promise<void> {
  const openssl = (...args: string[]) => run('openssl', args, { cwd: dir });
  for (const ca of ['ca', 'other-ca']) {
    await openssl(
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-days',
      '2',
      '-subj',
      `/CN=${ca}`,
      '-keyout',
      `${ca}.key`,
      '-out',
      `${ca}.pem`,
    );
  }
  await openssl(
    'req',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-subj',
    '/CN=db.test',
    '-keyout',
    'server.key',
    '-out',
    'server.csr',
  );
  await writeFile(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:db.test\n');
  await openssl(
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-days',
    '2',
    '-extfile',
    'san.ext',
    '-out',
    'server.pem',
  );
}

describe('PostgresLogStorage over TLS', { skip: missing }, () => {
  const dir = useTempDir('airlock-pg-tls-');
  let server: PostgresServer;
  before(async () => {
    server = await startPostgres();
    await makeCertificates(dir);
    const admin = await server.admin();
    try {
      // The server runs as the owner of its data folder (nobody, under root): its key must be its own.
      const owner = await stat(String((await admin.query('SHOW data_directory')).rows[0]?.data_directory));
      for (const f of ['server.pem', 'server.key']) await chown(join(dir, f), owner.uid, owner.gid);
      await chmod(join(dir, 'server.key'), 0o600);
      await chmod(dir, 0o755);
      await admin.query(`ALTER SYSTEM SET ssl_cert_file = '${join(dir, 'server.pem')}'`);
      await admin.query(`ALTER SYSTEM SET ssl_key_file = '${join(dir, 'server.key')}'`);
      await admin.query('ALTER SYSTEM SET ssl = on');
      await admin.query('SELECT pg_reload_conf()');
      // The postmaster reloads on its own time: until it says ssl is on, a TLS connection is refused.
      for (let i = 0; i < 100; i++) {
        const probe = await server.admin();
        const on = (await probe.query('SHOW ssl')).rows[0]?.ssl === 'on';
        await probe.end();
        if (on) break;
        await new Promise((r) => setTimeout(r, 50));
      }
    } finally {
      await admin.end();
    }
  });
  after(async () => {
    await server?.stop();
  });

  const open = (query: string) =>
    PostgresLogStorage.open({ url: `${server.url}?${query}`, password: server.password, schema: 'tls' });

  it('verify-full with the CA: the connection is encrypted and the server checked', async () => {
    const storage = await open(`sslmode=verify-full&sslrootcert=${join(dir, 'ca.pem')}&application_name=tls-check`);
    await storage.readState();
    const admin = await server.admin();
    const { rows } = await admin.query(
      "SELECT ssl FROM pg_stat_ssl JOIN pg_stat_activity USING (pid) WHERE application_name = 'tls-check'",
    );
    await admin.end();
    assert.ok(rows.length > 0 && rows.every((r: { ssl: boolean }) => r.ssl), JSON.stringify(rows));
    await storage.close();
  });

  it('refuses a server its CA did not certify, and one reached by a name not in its certificate', async () => {
    await assert.rejects(open(`sslmode=verify-full&sslrootcert=${join(dir, 'other-ca.pem')}`), {
      code: 'E_UNAVAILABLE',
    });
    // No CA named: the system's CAs, which never issued this test CA's certificate.
    await assert.rejects(open('sslmode=verify-full'), { code: 'E_UNAVAILABLE' });
    const byName = (mode: string) =>
      PostgresLogStorage.open({
        url: `${server.url.replace('127.0.0.1', 'localhost')}?sslmode=${mode}&sslrootcert=${join(dir, 'ca.pem')}`,
        password: server.password,
        schema: 'tls',
      });
    await assert.rejects(byName('verify-full'), { code: 'E_UNAVAILABLE', message: /localhost/ });
    await (await byName('verify-ca')).close();
  });

  it('refuses sslmodes that check nothing, and TLS files without TLS, before connecting', async () => {
    for (const mode of ['require', 'prefer', 'allow']) {
      await assert.rejects(open(`sslmode=${mode}`), { code: 'E_USAGE', message: /does not check who answers/ });
    }
    await assert.rejects(open(`sslmode=disable&sslrootcert=${join(dir, 'ca.pem')}`), { code: 'E_USAGE' });
    await assert.rejects(open(`sslmode=verify-full&sslcert=${join(dir, 'server.pem')}`), {
      code: 'E_USAGE',
      message: /sslcert and sslkey go together/,
    });
    await assert.rejects(open(`sslmode=verify-full&sslrootcert=${join(dir, 'absent.pem')}`), {
      code: 'E_INPUT_MISSING',
    });
  });
});
