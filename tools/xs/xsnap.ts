/**
 * A small driver for @agoric/xsnap's `xsnap-worker` binary (XS 13.3), spoken to
 * directly instead of through @agoric/xsnap's JS API (which needs SES).
 *
 * Protocol (xsnap-native/xsnap/sources/xsnap-worker.c): netstrings (`<len>:<bytes>,`),
 * the parent writes fd 3 and reads fd 4; the first byte of each message is its type.
 *   to the worker:   `e<js>`    evaluate a script (global `eval`, i.e. indirect and sloppy)
 *                    `?<bytes>` call `globalThis.handleCommand(arrayBuffer)`
 *                    `s<path>` / `m<path>` run a script / module file, `R` ready?, `q` quit
 *   from the worker: `.<meter JSON>\x01<reply>` the delivery finished; the reply is the
 *                      ArrayBuffer the code returned (or its `.result`), else empty
 *                    `!<message>` the delivery threw (the worker lives on)
 *                    `?<bytes>`  the code called `issueCommand(ab)` and blocks until the
 *                      parent answers `/<bytes>`
 * The meter is reset at the start of each `e`/`?` delivery, so `compute` is the cost of
 * that delivery alone (XS "meter units", deterministic; roughly 33 x86 instructions each).
 * `print` writes to the worker's stdout, which we collect.
 *
 * Exit codes: 11 out of memory, 12 stack overflow, 15 uncaught exception, 16 no more keys,
 * 17 over the `-l` meter limit.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Readable, Writable } from 'node:stream';

export interface Meter {
  /** XS compute meter units used by the delivery (32-bit unsigned in the worker). */
  compute: number;
  /** Bytes of heap XS had allocated when the delivery ended (chunks + slots). */
  allocate: number;
  currentHeapCount?: number;
}

export interface Reply {
  meter: Meter;
  reply: Uint8Array;
}

export const EXIT_MESSAGES: Record<number, string> = {
  1: 'bad argument usage',
  2: 'I/O error',
  11: 'not enough memory',
  12: 'stack overflow',
  15: 'uncaught exception',
  16: 'property (key) name space exhausted',
  17: 'too much computation (over the meter limit)',
};

/** The code under XS threw; the worker is still alive. */
export class XsEvalError extends Error {
  constructor(readonly xsMessage: string) {
    super(`uncaught exception under XS: ${xsMessage}`);
    this.name = 'XsEvalError';
  }
}

/** The worker died (or was killed) while we waited for it. */
export class XsExitError extends Error {
  constructor(
    readonly code: number | null,
    readonly signal: NodeJS.Signals | null,
    readonly stderr: string,
  ) {
    const why =
      code !== null ? `exit code ${code} (${EXIT_MESSAGES[code] ?? 'unknown error'})` : `signal ${signal}`;
    super(`xsnap-worker died: ${why}${stderr.trim() ? `; stderr: ${stderr.trim().slice(-2000)}` : ''}`);
    this.name = 'XsExitError';
  }
}

export interface XsnapOptions {
  /** Stop any single delivery after this many meter units (worker exits with 17). */
  meterLimit?: number;
  /** Use the debug build of the worker. */
  debug?: boolean;
  /** Answers `issueCommand(ab)` from the code under XS; default: echoes an empty reply. */
  handleCommand?: (request: Uint8Array) => Uint8Array | void;
  /** Called with each line the code prints (the lines are also kept in `output`). */
  onPrint?: (line: string) => void;
  /** Kill the worker when a delivery takes longer than this (ms, wall clock). Default 120 s. */
  timeoutMs?: number;
  /** Worker binary; default: the release build inside node_modules/@agoric/xsnap. */
  bin?: string;
}

export function xsnapWorkerPath(debug = false): string {
  const require = createRequire(import.meta.url);
  const pkg = dirname(require.resolve('@agoric/xsnap/package.json'));
  const platform = process.platform === 'linux' ? 'lin' : process.platform === 'darwin' ? 'mac' : undefined;
  if (!platform) throw new Error(`xsnap-worker is not built for ${process.platform}`);
  const bin = join(pkg, 'xsnap-native/xsnap/build/bin', platform, debug ? 'debug' : 'release', 'xsnap-worker');
  if (!existsSync(bin)) throw new Error(`xsnap-worker binary not found at ${bin} (did @agoric/xsnap's postinstall run?)`);
  return bin;
}

const OK = 0x2e; // '.'
const ERROR = 0x21; // '!'
const QUERY = 0x3f; // '?'
const encoder = new TextEncoder();
const decoder = new TextDecoder();

function netstring(type: string, body: Uint8Array): Uint8Array {
  const payloadLength = type.length + body.length;
  const head = encoder.encode(`${payloadLength}:${type}`);
  const out = new Uint8Array(head.length + body.length + 1);
  out.set(head, 0);
  out.set(body, head.length);
  out[out.length - 1] = 0x2c; // ','
  return out;
}

/** Incremental netstring parser. */
class NetstringReader {
  private buf = new Uint8Array(0);
  push(chunk: Uint8Array): Uint8Array[] {
    const merged = new Uint8Array(this.buf.length + chunk.length);
    merged.set(this.buf, 0);
    merged.set(chunk, this.buf.length);
    const out: Uint8Array[] = [];
    let pos = 0;
    for (;;) {
      const colon = merged.indexOf(0x3a, pos);
      if (colon < 0) {
        if (merged.length - pos > 12) throw new Error('xsnap protocol error: netstring length prefix too long');
        break;
      }
      const lenText = decoder.decode(merged.subarray(pos, colon));
      if (!/^\d{1,10}$/.test(lenText)) throw new Error(`xsnap protocol error: bad netstring length ${JSON.stringify(lenText)}`);
      const len = Number(lenText);
      const end = colon + 1 + len;
      if (merged.length < end + 1) break;
      if (merged[end] !== 0x2c) throw new Error('xsnap protocol error: netstring without trailing comma');
      out.push(merged.slice(colon + 1, end));
      pos = end + 1;
    }
    this.buf = merged.slice(pos);
    return out;
  }
}

interface Pending {
  resolve: (r: Reply) => void;
  reject: (e: Error) => void;
}

/** One xsnap-worker process. Deliveries are serialized: one at a time. */
export class Xsnap {
  readonly output: string[] = [];
  private readonly proc: ChildProcess;
  private readonly toWorker: Writable;
  private readonly reader = new NetstringReader();
  private pending: Pending | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private stdoutRest = '';
  private stderrText = '';
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private resolveExited: (info: { code: number | null; signal: NodeJS.Signals | null }) => void = () => {};
  private closing = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly timeoutMs: number;

  constructor(private readonly opts: XsnapOptions = {}) {
    const args = ['sealbell-xs'];
    if (opts.meterLimit !== undefined) {
      if (!Number.isInteger(opts.meterLimit) || opts.meterLimit <= 0 || opts.meterLimit > 0x7fffffff) {
        throw new RangeError('meterLimit must be an integer in 1..2^31-1 (the worker parses it with atoi)');
      }
      args.push('-l', String(opts.meterLimit));
    }
    this.timeoutMs = opts.timeoutMs ?? 120_000;
    this.proc = spawn(opts.bin ?? xsnapWorkerPath(opts.debug), args, {
      stdio: ['ignore', 'pipe', 'pipe', 'pipe', 'pipe'],
    });
    const stdio = this.proc.stdio as unknown as [null, Readable, Readable, Writable, Readable];
    this.toWorker = stdio[3];
    // The worker may die while we write; the exit handler reports why.
    this.toWorker.on('error', () => {});
    stdio[1].setEncoding('utf8');
    stdio[1].on('data', (s: string) => this.onStdout(s));
    stdio[2].setEncoding('utf8');
    stdio[2].on('data', (s: string) => {
      this.stderrText += s;
    });
    stdio[4].on('data', (chunk: Buffer) => this.onData(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length)));
    this.proc.on('exit', (code, signal) => {
      this.exitInfo = { code, signal };
    });
    // 'close' comes after 'exit' and after stdout/stderr are drained: all output is in.
    this.exited = new Promise((resolve) => {
      this.resolveExited = resolve;
      this.proc.on('close', (code, signal) => {
        this.exitInfo = { code, signal };
        this.flushStdout();
        // A death mid-delivery fails that delivery.
        this.fail(new XsExitError(code, signal, this.stderrText));
        resolve(this.exitInfo);
      });
    });
    this.proc.on('error', (e) => {
      // Spawning failed (or killing did): nothing more will come from this worker.
      this.fail(e);
      if (!this.exitInfo) {
        this.exitInfo = { code: null, signal: null };
        this.resolveExited(this.exitInfo);
      }
    });
  }

  get stderr(): string {
    return this.stderrText;
  }

  /** Evaluates a script as the global `eval` would (sloppy unless it starts with "use strict"). */
  evaluate(code: string): Promise<Reply> {
    return this.deliver(netstring('e', encoder.encode(code)));
  }

  /** Calls `globalThis.handleCommand(arrayBuffer)` in the worker; the reply is what it returns. */
  command(message: Uint8Array | string): Promise<Reply> {
    const body = typeof message === 'string' ? encoder.encode(message) : message;
    return this.deliver(netstring('?', body));
  }

  /**
   * Sends `q` and waits for the worker to exit and its output to be read; resolves with
   * its exit code (15 if the last delivery threw: the worker remembers that).
   */
  async close(): Promise<number | null> {
    await this.queue.catch(() => {});
    if (!this.exitInfo && !this.closing) {
      this.closing = true;
      this.toWorker.write(netstring('q', new Uint8Array(0)));
      this.toWorker.end();
    }
    const { code } = await this.exited;
    return code;
  }

  /** Kills the worker (SIGKILL). */
  async kill(): Promise<void> {
    if (!this.exitInfo) this.proc.kill('SIGKILL');
    await this.exited;
  }

  private deliver(message: Uint8Array): Promise<Reply> {
    const run = (): Promise<Reply> =>
      new Promise<Reply>((resolve, reject) => {
        if (this.exitInfo || this.closing) {
          reject(this.exitInfo ? new XsExitError(this.exitInfo.code, this.exitInfo.signal, this.stderrText) : new Error('xsnap worker is closing'));
          return;
        }
        this.pending = { resolve, reject };
        this.timer = setTimeout(() => {
          this.fail(new Error(`xsnap delivery took longer than ${this.timeoutMs} ms; worker killed`));
          this.proc.kill('SIGKILL');
        }, this.timeoutMs);
        this.toWorker.write(message);
      });
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => {});
    return result;
  }

  private settle(): Pending | undefined {
    const p = this.pending;
    this.pending = undefined;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    return p;
  }

  private fail(e: Error): void {
    this.settle()?.reject(e);
  }

  private onData(chunk: Uint8Array): void {
    let messages: Uint8Array[];
    try {
      messages = this.reader.push(chunk);
    } catch (e) {
      this.fail(e as Error);
      this.proc.kill('SIGKILL');
      return;
    }
    for (const m of messages) this.onMessage(m);
  }

  private onMessage(m: Uint8Array): void {
    const type = m[0];
    if (type === QUERY) {
      let answer: Uint8Array | void;
      try {
        answer = this.opts.handleCommand?.(m.subarray(1));
      } catch (e) {
        // The worker blocks on our answer: answer empty, then fail the delivery.
        this.toWorker.write(netstring('/', new Uint8Array(0)));
        this.fail(e as Error);
        return;
      }
      this.toWorker.write(netstring('/', answer ?? new Uint8Array(0)));
      return;
    }
    // Lines printed before the reply are in the stdout pipe; most often already read.
    if (type === OK) {
      const sep = m.indexOf(1, 1);
      const meterText = decoder.decode(m.subarray(1, sep < 0 ? 1 : sep));
      const raw = sep < 0 ? {} : (JSON.parse(meterText) as Record<string, unknown>);
      const meter: Meter = {
        compute: Number(raw.compute ?? NaN),
        allocate: Number(raw.allocate ?? NaN),
        currentHeapCount: raw.currentHeapCount === undefined ? undefined : Number(raw.currentHeapCount),
      };
      this.settle()?.resolve({ meter, reply: m.slice(sep < 0 ? 1 : sep + 1) });
    } else if (type === ERROR) {
      this.fail(new XsEvalError(decoder.decode(m.subarray(1)) || '(no message)'));
    } else {
      this.fail(new Error(`xsnap protocol error: unexpected message type ${JSON.stringify(String.fromCharCode(type ?? 0))}`));
      this.proc.kill('SIGKILL');
    }
  }

  private onStdout(s: string): void {
    const text = this.stdoutRest + s;
    const lines = text.split('\n');
    this.stdoutRest = lines.pop() ?? '';
    for (const line of lines) this.line(line);
  }

  private flushStdout(): void {
    if (this.stdoutRest) this.line(this.stdoutRest);
    this.stdoutRest = '';
  }

  private line(line: string): void {
    this.output.push(line);
    this.opts.onPrint?.(line);
  }
}
