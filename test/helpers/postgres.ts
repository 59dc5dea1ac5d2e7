// A real PostgreSQL server for a test (src/tools/postgres-cluster.ts, which `airlock demo` uses too) in a
// fresh temporary folder, with fsync on because the tests check durability; as root, it runs as
// `nobody`. The test role logs in with a password over TCP (scram-sha-256), so the driver's password
// path is exercised; the password is handed over in memory, never on a command line. A test run that
// ends without stop() (a failure, an exit) kills the servers it started and removes their folders.
//   postgresAvailable()      undefined, or why PostgreSQL tests must skip here
//   startPostgres()          a running server with a database and role for the test
//   usePostgres()            one for the test file or suite it is called in: started before, stopped after
//   openLogStorage(s, name)  the log storage driver on that server, in schema `name`
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { after, before } from 'node:test';
import type pg from 'pg';
import {
  POSTGRES_HINT,
  type PostgresCluster,
  postgresBinDir,
  startPostgresCluster,
} from '../../src/tools/postgres-cluster.ts';
import { PostgresLogStorage } from '../../src/log/postgres-storage.ts';

export const TEST_ROLE = 'airlock';
export const TEST_DATABASE = 'airlock';

const clusters = new Set<PostgresCluster>();
process.once('exit', () => {
  for (const cluster of clusters) {
    try {
      if (cluster.pid !== undefined) process.kill(cluster.pid, 'SIGKILL');
    } catch {
      // Gone already.
    }
    rmSync(cluster.dir, { recursive: true, force: true });
  }
});

/** Why PostgreSQL tests cannot run here, or undefined when they can. */
export function postgresAvailable(): string | undefined {
  return postgresBinDir(process.env.PATH)
    ? undefined
    : `PostgreSQL not installed: no initdb/postgres (${POSTGRES_HINT})`;
}

export interface PostgresServer {
  readonly port: number;
  /** For the test role on the test database; the password is apart, as a PGPASSFILE would hold it. */
  readonly url: string;
  readonly password: string;
  /** The same as a `pg` client configuration (pg lets a URL's empty password override a given one). */
  config(): pg.ClientConfig;
  /** A client as the superuser (trust over the socket), for test set-up and tampering. */
  admin(database?: string): Promise<pg.Client>;
  /** SIGKILL the postmaster and its backends: a crash, recovered by restart(). */
  kill(): Promise<void>;
  restart(): Promise<void>;
  /** Immediate shutdown, and the folder removed. */
  stop(): Promise<void>;
}

export async function startPostgres(): Promise<PostgresServer> {
  const missing = postgresAvailable();
  if (missing) throw new Error(missing);
  const password = randomBytes(18).toString('base64url');
  const cluster = await startPostgresCluster({
    parent: tmpdir(),
    prefix: 'airlock-pg-',
    pathList: process.env.PATH,
    role: TEST_ROLE,
    database: TEST_DATABASE,
    password,
    superuserPassword: randomBytes(16).toString('hex'),
  });
  clusters.add(cluster);
  return {
    port: cluster.port,
    url: cluster.url,
    password,
    config: () => cluster.config(),
    admin: (database) => cluster.admin(database),
    kill: () => cluster.kill(),
    restart: () => cluster.restart(),
    stop: async () => {
      await cluster.stop();
      clusters.delete(cluster);
    },
  };
}

/**
 * The server of the test file (or `describe`) this is called in: started before its tests unless
 * PostgreSQL is missing (the suite then skips, with postgresAvailable()'s reason), stopped after.
 * Read its fields inside tests and hooks, once it runs.
 */
export function usePostgres(): PostgresServer {
  let server: PostgresServer | undefined;
  before(async () => {
    if (!postgresAvailable()) server = await startPostgres();
  });
  after(async () => {
    await server?.stop();
  });
  const running = (): PostgresServer => {
    if (!server) throw new Error('usePostgres: the server is read before it started');
    return server;
  };
  return {
    get port() {
      return running().port;
    },
    get url() {
      return running().url;
    },
    get password() {
      return running().password;
    },
    config: () => running().config(),
    admin: (database) => running().admin(database),
    kill: () => running().kill(),
    restart: () => running().restart(),
    stop: () => running().stop(),
  };
}

/** The log storage driver on `server`, as the test role, in its own schema (one per test keeps them apart). */
export const openLogStorage = (server: PostgresServer, schema: string): Promise<PostgresLogStorage> =>
  PostgresLogStorage.open({ url: server.url, password: server.password, schema });
