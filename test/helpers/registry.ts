// A real OCI registry for tests: Debian's `docker-registry` (CNCF distribution 2.8) on a free loopback
// port with filesystem storage in a temp folder, optionally behind TLS from a throw-away CA and/or
// htpasswd basic auth. Tests then meet a registry's real wire behaviour (upload sessions, Location
// headers, error JSON, 404 on the referrers API) rather than a mock of our own making.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  request as httpRequest,
  type ServerResponse,
} from 'node:http';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, startProcess } from './process.ts';

const run = promisify(execFile);

export const REGISTRY_BINARY = 'docker-registry';

export interface RegistryOptions {
  /** Serve HTTPS with a certificate for 127.0.0.1 (IP SAN) issued by a fresh test CA (`caPem`). */
  readonly tls?: boolean;
  /** Require HTTP basic auth with this one user (bcrypt htpasswd file, as distribution demands). */
  readonly htpasswd?: { readonly username: string; readonly password: string };
}

export interface TestRegistry {
  /** `127.0.0.1:PORT`, the registry part of `docker://HOST/REPO`. */
  readonly host: string;
  /** `http(s)://127.0.0.1:PORT` */
  readonly url: string;
  /** The test CA that issued the server certificate (TLS variant only). */
  readonly caPem?: string;
  /** The folder holding config, storage, certificates and htpasswd; removed by stop(). */
  readonly dataDir: string;
  /** Everything the registry logged so far, for failure messages. */
  output(): string;
  stop(): Promise<void>;
}

function onPath(command: string): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((dir) => dir && existsSync(join(dir, command)));
}

/** undefined when the registry tests can run; otherwise why not (so they skip visibly). */
export function registryAvailable(options: RegistryOptions = {}): string | undefined {
  const needed = [REGISTRY_BINARY, ...(options.tls ? ['openssl'] : []), ...(options.htpasswd ? ['htpasswd'] : [])];
  const missing = needed.filter((c) => !onPath(c));
  if (missing.length === 0) return undefined;
  const packages = missing.map((c) =>
    c === REGISTRY_BINARY ? 'docker-registry' : c === 'htpasswd' ? 'apache2-utils' : c,
  );
  return `${missing.join(', ')} not on PATH (apt-get install ${packages.join(' ')}): registry tests skipped`;
}

async function makeServerCertificate(dir: string): Promise<{ caPem: string; cert: string; key: string }> {
  const caKey = join(dir, 'ca.key');
  const caCrt = join(dir, 'ca.crt');
  const key = join(dir, 'server.key');
  const csr = join(dir, 'server.csr');
  const cert = join(dir, 'server.crt');
  const ext = join(dir, 'server.ext');
  await run('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', caKey]);
  await run('openssl', [
    'req',
    '-x509',
    '-new',
    '-key',
    caKey,
    '-out',
    caCrt,
    '-days',
    '2',
    '-subj',
    '/O=airlock test/CN=airlock test registry CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  // Go's TLS stack (the registry) and Node's both match an IP host only against an IP SAN, never the CN.
  await writeFile(
    ext,
    [
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature',
      'extendedKeyUsage=serverAuth',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
    ].join('\n'),
  );
  await run('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', key]);
  await run('openssl', ['req', '-new', '-key', key, '-out', csr, '-subj', '/O=airlock test/CN=127.0.0.1']);
  await run('openssl', [
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    caCrt,
    '-CAkey',
    caKey,
    '-set_serial',
    '2',
    '-days',
    '2',
    '-extfile',
    ext,
    '-out',
    cert,
  ]);
  return { caPem: await readFile(caCrt, 'utf8'), cert, key };
}

export async function startRegistry(options: RegistryOptions = {}): Promise<TestRegistry> {
  const why = registryAvailable(options);
  if (why) throw new Error(why);
  const dataDir = await mkdtemp(join(tmpdir(), 'airlock-registry-'));
  try {
    const port = await freePort();
    const lines = [
      'version: 0.1',
      'log:',
      '  level: error',
      '  accesslog:',
      '    disabled: true',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${join(dataDir, 'storage')}`,
      '  delete:',
      '    enabled: true',
      'http:',
      `  addr: 127.0.0.1:${port}`,
      // A fixed secret keeps the signed upload `_state` valid across requests (distribution warns otherwise).
      '  secret: airlock-test-secret',
    ];
    let caPem: string | undefined;
    if (options.tls) {
      const tls = await makeServerCertificate(dataDir);
      caPem = tls.caPem;
      lines.push('  tls:', `    certificate: ${tls.cert}`, `    key: ${tls.key}`);
    }
    if (options.htpasswd) {
      const { stdout } = await run('htpasswd', ['-Bbn', options.htpasswd.username, options.htpasswd.password]);
      const file = join(dataDir, 'htpasswd');
      await writeFile(file, stdout.trim() + '\n');
      lines.push('auth:', '  htpasswd:', '    realm: airlock-test', `    path: ${file}`);
    }
    const config = join(dataDir, 'config.yml');
    await writeFile(config, lines.join('\n') + '\n');
    const server = await startProcess({ command: REGISTRY_BINARY, args: ['serve', config], readyWhen: { port } });
    const host = `127.0.0.1:${port}`;
    return {
      host,
      url: `${options.tls ? 'https' : 'http'}://${host}`,
      ...(caPem ? { caPem } : {}),
      dataDir,
      output: server.output,
      async stop() {
        await server.stop();
        await rm(dataDir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await rm(dataDir, { recursive: true, force: true });
    throw err;
  }
}

export interface RecordedRequest {
  readonly method: string;
  /** Path without the query string. */
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
}

export interface TestServer {
  /** `127.0.0.1:PORT` */
  readonly host: string;
  readonly url: string;
  /** Every request seen so far, in arrival order. */
  readonly requests: RecordedRequest[];
  stop(): Promise<void>;
}

async function listen(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<TestServer> {
  const requests: RecordedRequest[] = [];
  const server = createServer((req, res) => {
    requests.push({ method: req.method ?? '', path: (req.url ?? '').split('?')[0] ?? '', headers: req.headers });
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const host = `127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  return {
    host,
    url: `http://${host}`,
    requests,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * A plain-HTTP pass-through in front of `target` (a real registry) that records every request, so tests
 * can count what a client sent. The Host header is forwarded unchanged, so the registry's absolute
 * Location headers point back at the proxy.
 */
export function startCountingProxy(target: string): Promise<TestServer> {
  const [hostname, port] = target.split(':');
  return listen((req, res) => {
    const upstream = httpRequest(
      { host: hostname, port: Number(port), method: req.method, path: req.url, headers: req.headers },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
}

/** A hand-written HTTP server standing in for a misbehaving registry, token service or blob storage. */
export function startFakeServer(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<TestServer> {
  return listen(handler);
}

/**
 * A proxy in front of a test registry (`host:port`): `intercept` answers a request itself by returning
 * true (a registry failing, slow, or out of disk at one chosen request); everything else goes through.
 */
export async function registryProxy(
  target: string,
  intercept: (req: IncomingMessage, res: ServerResponse) => boolean,
): Promise<{ host: string; close(): void }> {
  const port = Number(target.split(':')[1]);
  const proxy = createServer((req, res) => {
    if (intercept(req, res)) return;
    const upstream = httpRequest(
      { host: '127.0.0.1', port, path: req.url, method: req.method, headers: req.headers },
      (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      },
    );
    // A client that aborts (an import cancelling its other uploads) ends the upstream request too.
    upstream.on('error', () => res.destroy());
    req.on('error', () => upstream.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  return { host: `127.0.0.1:${(proxy.address() as { port: number }).port}`, close: () => proxy.close() };
}
