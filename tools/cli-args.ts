/** What the `sealbell` commands share for their arguments and their lifetime. */
import net from 'node:net';

export class UsageError extends Error {}

export function positiveInt(s: string, name: string): number {
  const n = Number(s);
  if (!Number.isSafeInteger(n) || n < 1) throw new UsageError(`${name} must be a positive whole number`);
  return n;
}

/** A TCP port; 0 asks for any free one. */
export function portNumber(s: string): number {
  const port = Number(s);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError('--port must be 0..65535');
  return port;
}

/** Resolves on Ctrl-C or SIGTERM: how a long-running command knows to shut down. */
export function untilStopped(): Promise<void> {
  return new Promise((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
}

/**
 * Resolves if `port` on `host` can be listened on now; rejects with the EADDRINUSE (or
 * EACCES) error otherwise. Lets a server command fail before it makes anything on disk.
 */
export function portFree(port: number, host: string): Promise<void> {
  if (port === 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(port, host, () => probe.close(() => resolve()));
  });
}
