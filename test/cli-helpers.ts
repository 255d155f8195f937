// Running the `sealbell` command from tests: each command a real child process. Waits are
// for output or state, with generous real-time bounds, never for a fixed time.
import assert from 'node:assert/strict';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { ROOT } from './helpers.js';

export interface Result {
  status: number | null;
  stdout: string;
  stderr: string;
}

const BIN = path.join(ROOT, 'bin/sealbell.js');

export function sealbell(args: string[], o: { env?: Record<string, string>; input?: string } = {}): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...o.env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
    child.stdin.end(o.input ?? '');
  });
}

export const ok = (r: Result) => {
  assert.equal(r.status, 0, r.stderr || r.stdout);
  return r.stdout;
};

/** A running command (relay, doorbell, watch, a shell line): its output so far, and waits for lines in it. */
export class Running {
  out = '';
  exited: number | null | undefined;
  readonly child: ChildProcess;
  private readonly waiters = new Set<() => void>();

  /** `sealbell ARGS`, or with `shell`, that line through bash (in its own process group, so stop() reaches what it starts). */
  constructor(args: string[], o: { shell?: string; cwd?: string; input?: string } = {}) {
    this.child = o.shell === undefined
      ? spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn('bash', ['-c', o.shell], { cwd: o.cwd, detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdin?.end(o.input ?? '');
    const take = (d: Buffer) => {
      this.out += d;
      for (const w of [...this.waiters]) w();
    };
    this.child.stdout!.on('data', take);
    this.child.stderr!.on('data', take);
    this.child.on('close', (code) => {
      this.exited = code;
      for (const w of [...this.waiters]) w();
    });
  }

  /** Resolves with the first match of `pattern` in the output from `from` on (bounded in real time). */
  wait(pattern: RegExp, from = 0, bound = 120_000): Promise<RegExpMatchArray> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => done(new Error(`no ${pattern} within ${bound / 1000} s:\n${this.out.slice(-3000)}`)), bound);
      const check = () => {
        const m = this.out.slice(from).match(pattern);
        if (m) return done(undefined, m);
        if (this.exited !== undefined) done(new Error(`exited ${this.exited} before ${pattern}:\n${this.out.slice(-3000)}`));
      };
      const done = (e?: Error, m?: RegExpMatchArray) => {
        clearTimeout(timer);
        this.waiters.delete(check);
        if (e) reject(e);
        else resolve(m!);
      };
      this.waiters.add(check);
      check();
    });
  }

  /** The exit code, once it has ended by itself. */
  done(): Promise<number | null> {
    if (this.exited !== undefined) return Promise.resolve(this.exited);
    return new Promise((resolve) => this.child.once('close', (code) => resolve(code)));
  }

  /** SIGTERM (to its process group when it has one), then the exit code. */
  stop(): Promise<number | null> {
    if (this.exited === undefined) {
      try {
        if (this.child.spawnargs[0] === 'bash') process.kill(-this.child.pid!, 'SIGTERM');
        else this.child.kill('SIGTERM');
      } catch {
        // already gone
      }
    }
    return this.done();
  }
}

/**
 * Long-running commands a test starts (inside a describe()): each stopped with SIGTERM after
 * the tests, so nothing is left running.
 */
export function startedCommands(): (args: string[]) => Running {
  const running: Running[] = [];
  after(async () => {
    for (const r of running) await r.stop();
  });
  return (args) => {
    const r = new Running(args);
    running.push(r);
    return r;
  };
}

/** Tries `attempt` until it says yes, for up to 2 minutes of real time. */
export async function eventually(what: string, attempt: () => Promise<boolean>): Promise<void> {
  const end = Date.now() + 120_000;
  while (!(await attempt())) {
    if (Date.now() > end) assert.fail(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Presses the doorbell running on `state` and waits until its clip is at the relay, verified, for `phoneDir`. */
export async function pressAndUpload(door: Running, state: string, phoneDir: string): Promise<string> {
  const clip = ok(await sealbell(['doorbell', 'press', '--state', state])).match(/clip ([0-9A-Za-z_-]+)/)![1];
  await door.wait(new RegExp(`clip ${clip}: done, \\d+ frames`));
  await eventually(`clip ${clip} at the relay, verified`, async () => new RegExp(`${clip}\\s+verified`).test((await sealbell(['phone', 'clips', '--dir', phoneDir])).stdout));
  return clip;
}
