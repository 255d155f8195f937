/**
 * What a failed `sealbell` command says: one line a person can act on, and the exit
 * status. Never a stack trace (SEALBELL_DEBUG=1 adds one, for bug reports).
 */
import { SealbellError } from '../src/errors.js';
import { UsageError } from './cli-args.js';
import { RelayApiError } from './relay/client-http.js';

export interface Failure {
  /** one line, without the "sealbell <command>: " prefix */
  message: string;
  /** 2: the command line was wrong (usage follows); 1: anything else */
  status: 1 | 2;
  usage?: boolean;
}

interface SystemError {
  code?: string;
  path?: string;
  port?: number;
  address?: string;
  syscall?: string;
  cause?: SystemError & { message?: string };
  name?: string;
  message?: string;
}

const NETWORK: Record<string, string> = {
  ECONNREFUSED: 'connection refused: is it running, and is the URL right?',
  ECONNRESET: 'the connection was cut (ECONNRESET); try again',
  UND_ERR_SOCKET: 'the other side closed the connection; try again',
  EPIPE: 'the connection was cut (EPIPE); try again',
  ENOTFOUND: 'no such host: check the URL',
  EAI_AGAIN: 'the host name could not be looked up (DNS); check the network',
  ETIMEDOUT: 'the connection timed out',
  UND_ERR_CONNECT_TIMEOUT: 'the connection timed out',
  EHOSTUNREACH: 'the host is unreachable',
  ENETUNREACH: 'the network is unreachable',
};

const FILES: Record<string, (e: SystemError) => string> = {
  ENOENT: (e) => `no such file or folder: ${e.path}`,
  EACCES: (e) => (e.syscall === 'listen' || e.syscall === 'bind' ? `not allowed to listen on port ${e.port} (ports below 1024 need privileges): choose another with --port` : `permission denied: ${e.path}`),
  EPERM: (e) => `operation not permitted: ${e.path}`,
  ENOSPC: (e) => `the disk is full (no space left${e.path ? ` writing ${e.path}` : ''}): free some space and try again; nothing half-written was kept`,
  EDQUOT: (e) => `over the disk quota${e.path ? ` writing ${e.path}` : ''}: free some space and try again`,
  EROFS: (e) => `read-only file system: ${e.path}`,
  ENOTDIR: (e) => `not a folder: ${e.path}`,
  EISDIR: (e) => `is a folder, not a file: ${e.path}`,
  EEXIST: (e) => `already exists: ${e.path}`,
  EMFILE: () => 'too many open files',
  EADDRINUSE: (e) => `port ${e.port} on ${e.address} is already in use (another relay or phone serve?): stop it or choose another with --port`,
  EADDRNOTAVAIL: (e) => `cannot listen on ${e.address}: not an address of this machine (--host)`,
};

/** The first line of a message, kept short: an unknown error never floods the terminal. */
const firstLine = (s: string | undefined) => (s ?? '').split('\n')[0].slice(0, 200);

export function describeFailure(e: unknown): Failure {
  if (e instanceof SealbellError) return { message: `${e.message} [${e.code}]`, status: 1 };
  const err = (e ?? {}) as SystemError;
  if (e instanceof UsageError || err.code?.startsWith('ERR_PARSE_ARGS')) return { message: firstLine(err.message), status: 2, usage: true };
  if (e instanceof RelayApiError) return { message: `the relay refused: ${e.message} [${e.code}]`, status: 1 };
  // fetch() wraps the system error as its cause.
  const sys = err.cause?.code ? err.cause : err;
  if (sys.code && NETWORK[sys.code]) return { message: `cannot reach the relay or doorbell: ${NETWORK[sys.code]}`, status: 1 };
  if (err.name === 'TimeoutError') return { message: 'the relay or doorbell did not answer in time; try again', status: 1 };
  if (sys.code && FILES[sys.code]) return { message: FILES[sys.code](sys), status: 1 };
  return { message: `unexpected error: ${firstLine(err.message ?? String(e))} (SEALBELL_DEBUG=1 shows details)`, status: 1 };
}

/** Writes the one line (and the stack with SEALBELL_DEBUG=1); returns the exit status. */
export function reportFailure(command: string, e: unknown, usage: string): number {
  const f = describeFailure(e);
  process.stderr.write(`sealbell ${command}: ${f.message}\n${f.usage ? `\n${usage}` : ''}`);
  if (process.env.SEALBELL_DEBUG === '1' && e instanceof Error) process.stderr.write(`${e.stack}\n`);
  return f.status;
}
