// A real PostgreSQL server for a test: initdb in a fresh temporary folder, the postmaster on a free
// loopback port (and a socket in that folder), fsync on because the tests check durability. initdb and
// postgres refuse to run as root, and CI runs tests as root: there both run as `nobody`, owning the
// folder. The test role logs in with a password over TCP (scram-sha-256), so the driver's password
// path is exercised; the password is handed over in memory, never on a command line.
//   postgresAvailable()      undefined, or why PostgreSQL tests must skip here
//   startPostgres()          a running server with a database and role for the test
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { chmod, chown, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort } from './process.ts';

const run = promisify(execFile);
const NOBODY = 65534;
const SUPERUSER = 'postgres';
export const TEST_ROLE = 'airlock';
export const TEST_DATABASE = 'airlock';

const started = new Set<ChildProcess>();
/** Folders of servers not stopped yet: a test run that ends without stop() (a failure, an exit) removes them. */
const folders = new Set<string>();
process.once('exit', () => {
  for (const child of started) child.kill('SIGKILL');
  for (const dir of folders) rmSync(dir, { recursive: true, force: true });
});

/** The postmaster's children: each backend runs in its own session (setsid), so no process group holds them all. */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      // The command name is in parentheses and may hold spaces: the parent pid is the 2nd field after it.
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) out.push(Number(name));
    } catch {
      // Gone meanwhile.
    }
  }
  return out;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Kills the postmaster and its backends (left alone, they would hold its shared memory) and waits for all. */
async function killAll(child: ChildProcess): Promise<void> {
  const pid = child.pid;
  if (pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
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

/** The folder holding initdb and postgres: Debian's versioned folder (newest first), else PATH. */
function binDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  const dirs = [...versions.map((v) => join(root, v, 'bin')), ...(process.env.PATH ?? '').split(':')];
  return dirs.find((d) => d && existsSync(join(d, 'initdb')) && existsSync(join(d, 'postgres')));
}

/** Why PostgreSQL tests cannot run here, or undefined when they can. */
export function postgresAvailable(): string | undefined {
  return binDir() ? undefined : 'PostgreSQL not installed: no initdb/postgres (apt-get install postgresql)';
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

const asUser = () => (process.getuid?.() === 0 ? { uid: NOBODY, gid: NOBODY } : {});

async function initdb(bin: string, dir: string, data: string): Promise<void> {
  const pwfile = join(dir, 'superuser-password');
  await writeFile(pwfile, randomBytes(16).toString('hex'), { mode: 0o600 });
  if (process.getuid?.() === 0) {
    await chmod(dir, 0o700);
    await chown(dir, NOBODY, NOBODY);
    await chown(pwfile, NOBODY, NOBODY);
  }
  await run(
    join(bin, 'initdb'),
    ['-D', data, '-U', SUPERUSER, `--pwfile=${pwfile}`, '--auth-local=trust', '--auth-host=scram-sha-256', '-N'],
    { ...asUser(), cwd: dir, env: { PATH: process.env.PATH ?? '', LANG: 'C' } },
  );
  await rm(pwfile);
}

function postmaster(bin: string, dir: string, data: string, port: number): Promise<ChildProcess> {
  const args = ['-D', data, '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1'];
  for (const setting of ['fsync=on', 'synchronous_commit=on', 'full_page_writes=on', 'max_connections=60']) {
    args.push('-c', setting);
  }
  const child = spawn(join(bin, 'postgres'), args, {
    ...asUser(),
    cwd: dir,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { PATH: process.env.PATH ?? '', LANG: 'C' },
  });
  started.add(child);
  child.once('exit', () => started.delete(child));
  let log = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`postgres was not ready within 30 s:\n${log}`));
    }, 30_000);
    child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      log += d;
      if (/ready to accept connections/.test(log)) {
        clearTimeout(timer);
        child.stderr?.removeAllListeners('data').resume();
        resolve(child);
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`postgres exited (${code ?? signal}) before it was ready:\n${log}`));
    });
  });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

export async function startPostgres(): Promise<PostgresServer> {
  const bin = binDir();
  if (!bin) throw new Error(postgresAvailable());
  const dir = await mkdtemp(join(tmpdir(), 'airlock-pg-'));
  folders.add(dir);
  const data = join(dir, 'data');
  const port = await freePort();
  const password = randomBytes(18).toString('base64url');
  let child: ChildProcess;
  try {
    await initdb(bin, dir, data);
    child = await postmaster(bin, dir, data, port);
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  const admin = async (database = 'postgres') => {
    const client = new pg.Client({ host: dir, port, user: SUPERUSER, database });
    await client.connect();
    return client;
  };
  const setup = await admin();
  try {
    await setup.query(`CREATE ROLE ${TEST_ROLE} LOGIN PASSWORD '${password}'`);
    await setup.query(`CREATE DATABASE ${TEST_DATABASE} OWNER ${TEST_ROLE}`);
  } finally {
    await setup.end();
  }
  return {
    port,
    url: `postgres://${TEST_ROLE}@127.0.0.1:${port}/${TEST_DATABASE}`,
    password,
    config: () => ({ host: '127.0.0.1', port, user: TEST_ROLE, database: TEST_DATABASE, password }),
    admin,
    kill: () => killAll(child),
    restart: async () => {
      await killAll(child);
      child = await postmaster(bin, dir, data, port);
    },
    stop: async () => {
      // SIGQUIT is PostgreSQL's immediate shutdown (pg_ctl stop -m immediate): it ends the backends too.
      child.kill('SIGQUIT');
      const timer = setTimeout(() => void killAll(child), 5000);
      await exited(child);
      clearTimeout(timer);
      await rm(dir, { recursive: true, force: true });
      folders.delete(dir);
    },
  };
}
