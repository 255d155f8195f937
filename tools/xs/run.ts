/**
 * Runs bundled TypeScript under real XS (xsnap-worker from @agoric/xsnap, XS 13.3):
 * conformance tests (the same `src/` code, byte-identical results to Node) and
 * deterministic cost measurements in XS `compute` meter units.
 *
 * How an entry talks to the harness (see tools/xs/guest.ts for the guest-side helpers):
 *  - The harness first evaluates a prelude (its own delivery), then the entry's bundle
 *    (one `e` delivery; its meter is `RunResult.meter`). The entry's top-level code runs
 *    there; promise jobs it queues also run before the delivery ends.
 *  - `print(...)` or `console.log(...)` lines become `output`.
 *  - `report(value)` (guest.ts) sends JSON to the parent through `issueCommand`; the last
 *    value reported is `result` (all of them are in `reports`).
 *  - `defineOps({ name: fn })` (guest.ts) sets `globalThis.handleCommand`; `openXs(...).call(name)`
 *    or `measure(entry, names)` then runs each op as its own `?` delivery, whose `compute`
 *    meter is that op alone plus a small fixed dispatch cost (measure a no-op to subtract it).
 *  - An exception thrown by the entry's top-level code rejects with XsRunError (the XS
 *    message, e.g. `ReferenceError: get Buffer: undefined variable`, and the output so far).
 *    An async entry must catch its own errors and report them.
 *
 * The prelude installs what XS lacks and the core expects:
 *  - `crypto.getRandomValues`: a *deterministic, seeded, TEST-ONLY* generator (splitmix32),
 *    not a CSPRNG: reproducible runs and meter figures, never for real keys;
 *  - `console.log/info/warn/error/debug` → `print`.
 */
import { resolve } from 'node:path';
import { bundleForXs, type Bundle, type BundleOptions } from './bundle.js';
import { Xsnap, XsEvalError, type Meter, type XsnapOptions } from './xsnap.js';

export type { Meter } from './xsnap.js';

export interface RunOptions {
  /** Repository root: entry paths are resolved against it. Default process.cwd(). */
  root?: string;
  /** Seed of the test-only getRandomValues (default 1). */
  seed?: number;
  /** Per-delivery meter limit (worker exits with code 17 beyond it). Default: none. */
  meterLimit?: number;
  /** Wall-clock limit per delivery, ms (default 120 s). */
  timeoutMs?: number;
  /** Use the debug worker build. */
  debug?: boolean;
  /** Worker binary (default: xsnap's own); tools/xs-native builds one with sealbell's natives. */
  bin?: string;
  /** Called with each printed line as it arrives. */
  onPrint?: (line: string) => void;
  bundle?: Omit<BundleOptions, 'root'>;
}

export interface RunResult {
  /** Printed lines, in order. */
  output: string[];
  /** Meter of the delivery that evaluated the bundle (all top-level work of the entry). */
  meter: Meter;
  /** The last value the entry reported (guest.ts `report`), if any. */
  result?: any;
  reports: unknown[];
}

/** The entry failed under XS: an uncaught exception, or the worker died. */
export class XsRunError extends Error {
  constructor(
    readonly entry: string,
    override readonly cause: Error,
    readonly output: string[],
    readonly stderr: string,
  ) {
    const tail = output.length ? `\n--- output ---\n${output.slice(-20).join('\n')}` : '';
    super(`${entry} failed under XS: ${cause.message}${tail}`);
    this.name = 'XsRunError';
  }

  /** The XS exception text when the code threw (the worker survived), else undefined. */
  get xsMessage(): string | undefined {
    return this.cause instanceof XsEvalError ? this.cause.xsMessage : undefined;
  }
}

export function prelude(seed = 1): string {
  return `"use strict";
(function () {
  // TEST-ONLY: deterministic, seeded "random" bytes (splitmix32) so that XS runs and their
  // meter figures are reproducible. NOT a CSPRNG; never use it for real keys.
  var state = ${seed >>> 0} | 0;
  function next() {
    state = (state + 0x9e3779b9) | 0;
    var z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  }
  function getRandomValues(array) {
    if (!ArrayBuffer.isView(array) || array instanceof DataView) throw new TypeError("getRandomValues: expected an integer typed array");
    if (array.byteLength > 65536) throw new RangeError("getRandomValues: more than 65536 bytes requested");
    var bytes = new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
    for (var i = 0; i < bytes.length; i += 4) {
      var r = next();
      for (var j = 0; j < 4 && i + j < bytes.length; j++) bytes[i + j] = (r >>> (8 * j)) & 0xff;
    }
    return array;
  }
  if (typeof globalThis.crypto === "undefined") {
    globalThis.crypto = { getRandomValues: getRandomValues, testOnlyDeterministic: true };
  }
  function show(v) {
    if (typeof v === "string") return v;
    if (v instanceof Error) return v.name + ": " + v.message;
    try { var s = JSON.stringify(v); return s === undefined ? String(v) : s; } catch (e) { return String(v); }
  }
  function log() {
    var parts = [];
    for (var i = 0; i < arguments.length; i++) parts.push(show(arguments[i]));
    print(parts.join(" "));
  }
  if (typeof globalThis.console === "undefined") {
    globalThis.console = { log: log, info: log, warn: log, error: log, debug: log };
  }
})();
`;
}

const decoder = new TextDecoder();

export interface OpResult {
  /** The op's return value (JSON), if any. */
  value?: any;
  meter: Meter;
}

/** A live worker with an entry loaded; call its ops (defineOps) one delivery at a time. */
export class XsSession {
  readonly reports: unknown[] = [];
  /** Meter of the bundle's evaluation (the entry's top-level code). */
  loadMeter: Meter = { compute: 0, allocate: 0 };
  readonly worker: Xsnap;

  private constructor(
    readonly entry: string,
    opts: RunOptions,
  ) {
    const workerOpts: XsnapOptions = {
      meterLimit: opts.meterLimit,
      timeoutMs: opts.timeoutMs,
      debug: opts.debug,
      bin: opts.bin,
      onPrint: opts.onPrint,
      handleCommand: (request) => this.onGuestMessage(request),
    };
    this.worker = new Xsnap(workerOpts);
  }

  get output(): string[] {
    return this.worker.output;
  }

  get result(): unknown {
    return this.reports[this.reports.length - 1];
  }

  /** Bundles `entryTs`, starts a worker, evaluates the prelude and then the bundle. */
  static async open(entryTs: string, opts: RunOptions = {}): Promise<XsSession> {
    const root = opts.root ?? process.cwd();
    const bundle: Bundle = await bundleForXs(resolve(root, entryTs), { ...opts.bundle, root });
    const session = new XsSession(entryTs, opts);
    try {
      await session.worker.evaluate(prelude(opts.seed ?? 1));
      session.loadMeter = (await session.worker.evaluate(bundle.code)).meter;
    } catch (e) {
      throw await session.failed(e);
    }
    return session;
  }

  /** Runs op `name` (with an optional JSON argument) as one delivery. */
  async call(name: string, arg?: unknown): Promise<OpResult> {
    if (/\s/.test(name)) throw new Error(`op names have no spaces: ${JSON.stringify(name)}`);
    const message = arg === undefined ? name : `${name} ${JSON.stringify(arg)}`;
    try {
      const { meter, reply } = await this.worker.command(message);
      return reply.length ? { meter, value: JSON.parse(decoder.decode(reply)) } : { meter };
    } catch (e) {
      if (e instanceof XsEvalError) throw new XsRunError(`${this.entry} op ${name}`, e, this.output, this.worker.stderr);
      throw await this.failed(e, `${this.entry} op ${name}`);
    }
  }

  /** Quits the worker; resolves when it has exited (and all its output is read). */
  async close(): Promise<void> {
    await this.worker.close();
  }

  private async failed(e: unknown, what = this.entry): Promise<Error> {
    const cause = e instanceof Error ? e : new Error(String(e));
    if (!(cause instanceof XsEvalError)) await this.worker.kill();
    else await this.worker.close(); // exits with 15 after an uncaught exception: expected
    return new XsRunError(what, cause, this.output, this.worker.stderr);
  }

  private onGuestMessage(request: Uint8Array): Uint8Array {
    const message = JSON.parse(decoder.decode(request)) as { t?: string; value?: unknown };
    if (message.t !== 'report') throw new Error(`unknown message from the XS guest: ${decoder.decode(request).slice(0, 200)}`);
    this.reports.push(message.value);
    return new Uint8Array(0);
  }
}

export function openXs(entryTs: string, opts: RunOptions = {}): Promise<XsSession> {
  return XsSession.open(entryTs, opts);
}

/** Bundles `entryTs` (a path relative to `opts.root`), runs it under XS and collects what it printed and reported. */
export async function runUnderXs(entryTs: string, opts: RunOptions = {}): Promise<RunResult> {
  const session = await XsSession.open(entryTs, opts);
  await session.close();
  return { output: session.output, meter: session.loadMeter, result: session.result, reports: session.reports };
}

export interface MeasureOptions extends RunOptions {
  /** Runs of each op before the measured one (first-run effects). Default 1. */
  warmup?: number;
  /** Measured runs of each op (default 1); all figures are returned, and they must agree unless `allowVariance`. */
  runs?: number;
  allowVariance?: boolean;
  /** Argument passed to every op. */
  arg?: unknown;
}

export interface Measurement {
  /** compute meter units of the op's delivery (last measured run). */
  compute: number;
  /** every measured run's compute. */
  computeRuns: number[];
  /** heap allocated when the op's delivery ended (bytes). */
  allocate: number;
  value?: any;
}

/**
 * Loads `entryTs` (which must call guest.ts `defineOps`) and measures each named op
 * as its own delivery. A delivery's meter includes the op dispatch (decode the name,
 * look up the op): define a no-op and subtract its figure to get the op alone.
 */
export async function measure(
  entryTs: string,
  names: string | string[],
  opts: MeasureOptions = {},
): Promise<Record<string, Measurement>> {
  const list = typeof names === 'string' ? [names] : names;
  const session = await XsSession.open(entryTs, opts);
  const out: Record<string, Measurement> = {};
  try {
    for (const name of list) {
      for (let i = 0; i < (opts.warmup ?? 1); i++) await session.call(name, opts.arg);
      const runs: OpResult[] = [];
      for (let i = 0; i < Math.max(1, opts.runs ?? 1); i++) runs.push(await session.call(name, opts.arg));
      const computeRuns = runs.map((r) => r.meter.compute);
      if (!opts.allowVariance && computeRuns.some((c) => c !== computeRuns[0])) {
        throw new Error(`op ${name}: the compute meter varied between runs (${computeRuns.join(', ')})`);
      }
      const last = runs[runs.length - 1];
      out[name] = { compute: last.meter.compute, computeRuns, allocate: last.meter.allocate, value: last.value };
    }
  } finally {
    await session.close();
  }
  return out;
}
