/**
 * The guest side of the XS harness (tools/xs/run.ts): imported by entry files that
 * are bundled and run under xsnap. No Node APIs here — this is bundled into XS code.
 *
 * An entry talks to the parent in three ways:
 *  - `print(...)` / `console.log(...)` — lines collected into `output`;
 *  - `report(value)` — sends a JSON value to the parent (synchronously, through
 *    xsnap's `issueCommand`); the last value reported becomes `result`;
 *  - `defineOps({ name: fn })` — installs `globalThis.handleCommand` so the parent can
 *    run named operations one delivery at a time and read each one's meter (`measure`).
 * `runCases(cases)` is a tiny test runner on top: prints `ok`/`not ok` lines and reports
 * `{ cases: [{ name, ok, error? }] }`.
 *
 * Imported under Node (e.g. to run the same cases as a reference) these are inert:
 * `underXs` is false, `report` does nothing and `runCases` does not run.
 */

interface XsGlobals {
  print?: (...args: unknown[]) => void;
  issueCommand?: (message: ArrayBuffer) => ArrayBuffer;
  handleCommand?: (message: ArrayBuffer) => ArrayBuffer | undefined;
}

const xs = globalThis as unknown as XsGlobals;

/** True when running inside xsnap (it has `print` and `issueCommand` globals; Node has neither). */
export const underXs = typeof xs.issueCommand === 'function' && typeof xs.print === 'function';

/** Message kinds the parent understands (JSON over issueCommand). */
export type GuestMessage = { t: 'report'; value: unknown };

function encode(text: string): ArrayBuffer {
  const bytes = new TextEncoder().encode(text);
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

function decode(buffer: ArrayBuffer): string {
  return new TextDecoder().decode(new Uint8Array(buffer));
}

export function print(...args: unknown[]): void {
  if (xs.print) xs.print(...args);
  else console.log(...args);
}

/** Sends `value` (JSON-serializable) to the parent; the last one is `runUnderXs(...).result`. */
export function report(value: unknown): void {
  if (!xs.issueCommand) return;
  const message: GuestMessage = { t: 'report', value };
  xs.issueCommand(encode(JSON.stringify(message)));
}

export type Op = (arg: unknown) => unknown;

/**
 * Makes `ops` callable from the parent: the command is the op name, optionally followed
 * by a space and a JSON argument. The reply is the op's return value as JSON (empty if
 * undefined). Keep the work you do not want measured (allocation, set-up) outside the op.
 */
export function defineOps(ops: Record<string, Op>): void {
  xs.handleCommand = (message: ArrayBuffer): ArrayBuffer | undefined => {
    const text = decode(message);
    const space = text.indexOf(' ');
    const name = space < 0 ? text : text.slice(0, space);
    const op = Object.prototype.hasOwnProperty.call(ops, name) ? ops[name] : undefined;
    if (!op) throw new Error(`no such op: ${name}`);
    const value = op(space < 0 ? undefined : JSON.parse(text.slice(space + 1)));
    return value === undefined ? undefined : encode(JSON.stringify(value));
  };
}

export interface Case {
  name: string;
  /** Throws (or returns a string describing the failure) when the case fails. */
  run: () => void | string;
}

export interface CaseResult {
  name: string;
  ok: boolean;
  error?: string;
}

/** Runs every case (a failure does not stop the others). */
export function evaluateCases(cases: Case[]): CaseResult[] {
  return cases.map(({ name, run }) => {
    try {
      const failure = run();
      return typeof failure === 'string' ? { name, ok: false, error: failure } : { name, ok: true };
    } catch (e) {
      const error = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
      return { name, ok: false, error };
    }
  });
}

/** Under XS: runs the cases, prints one line each and reports `{ cases }`. Under Node: nothing. */
export function runCases(cases: Case[]): void {
  if (!underXs) return;
  const results = evaluateCases(cases);
  for (const r of results) print(r.ok ? `ok - ${r.name}` : `not ok - ${r.name}: ${r.error}`);
  report({ cases: results });
}
