// Whether a host name is this machine: where plain HTTP is tolerated (a registry, a CA on loopback)
// because nothing crosses a network an attacker could sit on.
import { createServer, isIPv4 } from 'node:net';

/** 127.0.0.0/8, ::1 (either spelling) and localhost (with *.localhost, RFC 6761), in any case. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  if (host === '::1' || host === '0:0:0:0:0:0:0:1') return true;
  return isIPv4(host) && host.startsWith('127.');
}

/** A TCP port on 127.0.0.1 that was free a moment ago (the OS picks it), for a server started next. */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}
