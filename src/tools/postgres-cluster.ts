// A throw-away PostgreSQL server from Debian's packages, for `airlock demo` and the tests: initdb in a
// fresh folder, the postmaster on a loopback port (and a socket in that folder) with fsync and
// synchronous commit on, because what runs on it is checked for durability. initdb and postgres refuse
// to run as root: there both run as `nobody`, owning the folder (whose parents `nobody` must be able to
// traverse). One role logs in with a password over TCP (scram-sha-256), as a real deployment would; the
// password stays in memory, goes to the server over its socket, and to clients in a 0600 passfile,
// never on a command line. The superuser logs in over the socket only (trust), for set-up.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chmod, chown, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
// Only for a running server: `airlock doctor` reads postgresBinDir without loading the driver.
import type pg from 'pg';
import { AirlockError } from '../errors.ts';
import { freeLoopbackPort } from '../net/loopback.ts';
import { bounded } from '../text.ts';
import { runProgram } from './external.ts';
import { childrenOf } from './process-tree.ts';

const NOBODY = 65534;
const SUPERUSER = 'postgres';
export const POSTGRES_HINT = 'apt-get install postgresql (scripts/setup does)';

/** The folder holding initdb and postgres: Debian's versioned folder (newest first), else `pathList`. */
export function postgresBinDir(pathList: string | undefined): string | undefined {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  const dirs = [...versions.map((v) => join(root, v, 'bin')), ...(pathList ?? '').split(delimiter)];
  return dirs.find((d) => d && existsSync(join(d, 'initdb')) && existsSync(join(d, 'postgres')));
}

export interface PostgresClusterOptions {
  /** The cluster gets a fresh folder in here (data/ and the socket), removed by stop(). */
  readonly parent: string;
  /** The start of that folder's name; default `postgres-`. */
  readonly prefix?: string;
  readonly pathList: string | undefined;
  /** The role that logs in by password over TCP, and the database it owns. */
  readonly role: string;
  readonly database: string;
  readonly password: string;
  /** initdb wants one for password authentication; no one logs in with it (the superuser uses the socket). */
  readonly superuserPassword: string;
  readonly maxConnections?: number;
}

export interface PostgresCluster {
  readonly dir: string;
  readonly port: number;
  /** postgres://ROLE@127.0.0.1:PORT/DATABASE: no password in it. */
  readonly url: string;
  /** The postmaster's pid while it runs. */
  readonly pid: number | undefined;
  /** A `pg` client configuration for the role, with its password. */
  config(): pg.ClientConfig;
  /** A client as the superuser over the socket, for set-up. */
  admin(database?: string): Promise<pg.Client>;
  /** A PGPASSFILE (0600) giving the role's password for this server, for `log serve --storage` and the like. */
  writePassfile(path: string, database?: string): Promise<void>;
  /** SIGKILL the postmaster and its backends: a crash, recovered by restart(). */
  kill(): Promise<void>;
  restart(): Promise<void>;
  /** Immediate shutdown, and the folder removed. */
  stop(): Promise<void>;
}

const asRoot = () => process.getuid?.() === 0;
const asUser = () => (asRoot() ? { uid: NOBODY, gid: NOBODY } : {});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const running = (child: ChildProcess) => child.exitCode === null && child.signalCode === null;

function exited(child: ChildProcess): Promise<void> {
  if (!running(child)) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Kills the postmaster and its backends (left alone, they would hold its shared memory) and waits for all. */
async function killAll(child: ChildProcess): Promise<void> {
  const pid = child.pid;
  if (pid === undefined || !running(child)) return;
  const pids = [pid, ...childrenOf(pid)];
  for (const p of pids) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  await exited(child);
  while (pids.some(alive)) await new Promise((r) => setTimeout(r, 20));
}

const toolEnv = (pathList: string | undefined) => ({ PATH: pathList ?? '', LANG: 'C' });

async function initdb(bin: string, dir: string, options: PostgresClusterOptions): Promise<void> {
  const pwfile = join(dir, 'superuser-password');
  await writeFile(pwfile, options.superuserPassword, { mode: 0o600 });
  if (asRoot()) {
    await chmod(dir, 0o700);
    await chown(dir, NOBODY, NOBODY);
    await chown(pwfile, NOBODY, NOBODY);
  }
  try {
    const args = ['-D', join(dir, 'data'), '-U', SUPERUSER, `--pwfile=${pwfile}`];
    // -N: the empty cluster need not survive a crash; the server itself runs with fsync on.
    args.push('--auth-local=trust', '--auth-host=scram-sha-256', '-N');
    await runProgram(join(bin, 'initdb'), args, { ...asUser(), cwd: dir, env: toolEnv(options.pathList) });
  } finally {
    await rm(pwfile, { force: true });
  }
}

interface Postmaster {
  readonly bin: string;
  readonly dir: string;
  readonly port: number;
  readonly pathList: string | undefined;
  readonly maxConnections: number;
}

const READY_MS = 30_000;

function postmaster({ bin, dir, port, pathList, maxConnections }: Postmaster): Promise<ChildProcess> {
  const args = ['-D', join(dir, 'data'), '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1'];
  const settings = ['fsync=on', 'synchronous_commit=on', 'full_page_writes=on', `max_connections=${maxConnections}`];
  for (const setting of settings) args.push('-c', setting);
  const child = spawn(join(bin, 'postgres'), args, {
    ...asUser(),
    cwd: dir,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: toolEnv(pathList),
  });
  let log = '';
  const failed = (why: string) =>
    new AirlockError('E_UNAVAILABLE', `postgres ${why}: ${bounded(log.trim().split('\n').slice(-3).join(' / '))}`);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(failed(`was not ready within ${READY_MS / 1000} s`));
    }, READY_MS);
    child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      log += d;
      if (/ready to accept connections/.test(log)) {
        clearTimeout(timer);
        child.stderr?.removeAllListeners('data').resume();
        resolve(child);
      }
    });
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(new AirlockError('E_UNAVAILABLE', `cannot run ${join(bin, 'postgres')}: ${err.message}`, { cause: err }));
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(failed(`exited (${code ?? signal}) before it was ready`));
    });
  });
}

/** A pgpass field: ':' and '\' are escaped (PostgreSQL's libpq-pgpass). */
const pgpassField = (value: string) => value.replace(/[\\:]/g, (c) => `\\${c}`);

async function createRole(admin: pg.Client, options: PostgresClusterOptions): Promise<void> {
  const role = admin.escapeIdentifier(options.role);
  await admin.query(`CREATE ROLE ${role} LOGIN PASSWORD ${admin.escapeLiteral(options.password)}`);
  await admin.query(`CREATE DATABASE ${admin.escapeIdentifier(options.database)} OWNER ${role}`);
}

/** initdb, the postmaster, the role and its database: a server ready for `options.role`. */
export async function startPostgresCluster(options: PostgresClusterOptions): Promise<PostgresCluster> {
  const bin = postgresBinDir(options.pathList);
  if (!bin)
    throw new AirlockError('E_UNAVAILABLE', 'PostgreSQL is not installed: no initdb/postgres', { hint: POSTGRES_HINT });
  const dir = await mkdtemp(join(options.parent, options.prefix ?? 'postgres-'));
  let child: ChildProcess | undefined;
  try {
    await initdb(bin, dir, options);
    // The port is picked just before the postmaster binds it, not before initdb's seconds, in which
    // another process's listen(0) can be handed the port it released.
    const port = await freeLoopbackPort();
    const spec: Postmaster = {
      bin,
      dir,
      port,
      pathList: options.pathList,
      maxConnections: options.maxConnections ?? 60,
    };
    child = await postmaster(spec);
    const cluster = clusterOf(
      spec,
      options,
      () => child as ChildProcess,
      async () => {
        child = await postmaster(spec);
      },
    );
    const admin = await cluster.admin();
    try {
      await createRole(admin, options);
    } finally {
      await admin.end();
    }
    return cluster;
  } catch (err) {
    if (child) await killAll(child);
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

function clusterOf(
  spec: Postmaster,
  options: PostgresClusterOptions,
  current: () => ChildProcess,
  respawn: () => Promise<void>,
): PostgresCluster {
  const { dir, port } = spec;
  const { role, database, password } = options;
  return {
    dir,
    port,
    url: `postgres://${role}@127.0.0.1:${port}/${database}`,
    get pid() {
      return running(current()) ? current().pid : undefined;
    },
    config: () => ({ host: '127.0.0.1', port, user: role, database, password }),
    async admin(db = 'postgres') {
      const { default: driver } = await import('pg');
      const client = new driver.Client({ host: dir, port, user: SUPERUSER, database: db });
      await client.connect();
      return client;
    },
    async writePassfile(path, db = database) {
      const line = ['127.0.0.1', String(port), db, role, password].map(pgpassField).join(':');
      await writeFile(path, `${line}\n`, { mode: 0o600, flag: 'wx' });
    },
    kill: () => killAll(current()),
    async restart() {
      await killAll(current());
      await respawn();
    },
    async stop() {
      const child = current();
      // SIGQUIT is PostgreSQL's immediate shutdown (pg_ctl stop -m immediate): it ends the backends too.
      child.kill('SIGQUIT');
      const timer = setTimeout(() => void killAll(child), 5000);
      await exited(child);
      clearTimeout(timer);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
