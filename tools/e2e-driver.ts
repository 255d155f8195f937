/**
 * What the end-to-end drivers (tools/moddable-e2e.ts: the Moddable simulator; tools/qemu-e2e.ts:
 * the ESP-IDF image in QEMU) share: a child's output read line by line with waiting for a line,
 * polling with a bound, running a build step with its output in a log file, a free loopback port.
 */
import fs from 'node:fs';
import net from 'node:net';
import { spawnSync } from 'node:child_process';

export const has = (tool: string): boolean => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A progress printer: each line tagged with `tag` and the seconds since it was made. */
export function progress(tag: string): (line: string) => void {
  const t0 = Date.now();
  return (line) => console.log(`[${tag} ${((Date.now() - t0) / 1000).toFixed(1).padStart(6)} s] ${line}`);
}

/** A loopback port no one listens on (now). */
export async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** A child's output, line by line (also appended to `file`, and echoed as `  prefix | line` when given), with waiting for a line. */
export class LineLog {
  readonly lines: string[] = [];
  private waiters: { re: RegExp; from: number; resolve: (m: RegExpMatchArray) => void }[] = [];
  private partial = '';

  constructor(
    private readonly file: string,
    private readonly prefix?: string,
  ) {}

  push(chunk: string): void {
    fs.appendFileSync(this.file, chunk);
    const parts = (this.partial + chunk).split(/\r?\n/);
    this.partial = parts.pop() ?? '';
    for (const line of parts) {
      this.lines.push(line);
      if (this.prefix) console.log(`  ${this.prefix} | ${line}`);
      for (const w of [...this.waiters]) {
        const m = this.match(w.re, w.from);
        if (m) {
          this.waiters = this.waiters.filter((x) => x !== w);
          w.resolve(m);
        }
      }
    }
  }

  private match(re: RegExp, from: number): RegExpMatchArray | undefined {
    for (let i = from; i < this.lines.length; i++) {
      const m = re.exec(this.lines[i]);
      if (m) return m;
    }
    return undefined;
  }

  /** Waits for a line matching `re` (from line `from` on). */
  async wait(re: RegExp, ms: number, what: string, from = 0): Promise<RegExpMatchArray> {
    const found = this.match(re, from);
    if (found) return found;
    return new Promise((resolve, reject) => {
      const w = { re, from, resolve: (m: RegExpMatchArray) => (clearTimeout(timer), resolve(m)) };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((x) => x !== w);
        reject(new Error(`timed out after ${ms / 1000} s waiting for ${what}`));
      }, ms);
      this.waiters.push(w);
    });
  }
}

/** Polls `probe` (every `every` ms) until it returns a value; its last error is named when time runs out. */
export async function until<T>(what: string, ms: number, probe: () => Promise<T | undefined>, every = 500): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    await sleep(every);
  }
  throw new Error(`timed out waiting for ${what}${last ? ` (last: ${(last as Error).message})` : ''}`);
}

/** Runs a step to its end; its output goes to `log` when given. Throws unless `ok` (default: exit 0). Returns the output. */
export function run(cmd: string, args: string[], o: { cwd?: string; env?: NodeJS.ProcessEnv; log?: string; ok?: (status: number | null, out: string) => boolean } = {}): string {
  const r = spawnSync(cmd, args, { cwd: o.cwd, env: o.env, encoding: 'utf8', maxBuffer: 1 << 28 });
  const out = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  if (o.log) fs.writeFileSync(o.log, out);
  const ok = o.ok ? o.ok(r.status, out) : r.status === 0;
  if (!ok) throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.status})${o.log ? `; see ${o.log}` : `:\n${out}`}`);
  return out;
}
