/**
 * The real `sealbell` command (bin/sealbell.js on dist/) as child processes: run to the
 * end, started and watched, or typed at through a pseudo-terminal (util-linux `script`)
 * the way a person at a terminal would.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { ROOT } from './helpers.js';

export const SEALBELL = path.join(ROOT, 'bin/sealbell.js');

export { ok, sealbell, type Result } from './cli-helpers.js';
import type { Result } from './cli-helpers.js';

/** A failure as a person sees it: non-zero, one line on stderr, no stack trace. */
export function failsWithOneLine(r: Result, pattern: RegExp, status = 1): string {
  assert.equal(r.status, status, `exit status; stderr: ${r.stderr}`);
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `one line, got:\n${r.stderr}`);
  assert.match(lines[0], pattern);
  assert.doesNotMatch(r.stderr, /^\s+at /m);
  return lines[0];
}

export interface Running {
  child: ChildProcess;
  /** everything it wrote so far, stdout and stderr */
  output(): string;
  /** resolves once the output matches (120 s bound: a loaded machine is slow) */
  until(pattern: RegExp, what?: string): Promise<RegExpMatchArray>;
  exited: Promise<number | null>;
}

/** Starts a long-running command (relay, watch, viewer). */
export function start(args: string[], env: Record<string, string> = {}): Running {
  const child = spawn(process.execPath, [SEALBELL, ...args], { env: { ...process.env, ...env } });
  let out = '';
  const waiters = new Set<() => void>();
  const onData = (d: Buffer) => {
    out += d;
    for (const w of waiters) w();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return {
    child,
    output: () => out,
    exited,
    until: (pattern, what = String(pattern)) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const m = out.match(pattern);
          if (!m) return;
          done();
          resolve(m);
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`timed out waiting for ${what}; output:\n${out}`));
        }, 120_000);
        const done = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        void exited.then((code) => {
          if (waiters.has(check)) {
            done();
            reject(new Error(`sealbell ${args[0]} exited ${code} before ${what}; output:\n${out}`));
          }
        });
        check();
      }),
  };
}

/**
 * Runs the command on a pseudo-terminal and answers its prompts: each time the screen
 * shows the next pattern, the answer is typed (with Enter). Resolves with the exit
 * status and everything the terminal showed — which is what a person would see.
 */
export type Answer = [RegExp, string | ((screen: string) => string)];

export function onTerminal(args: string[], answers: Answer[], env: Record<string, string> = {}): Promise<{ status: number | null; screen: string }> {
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const cmd = [process.execPath, SEALBELL, ...args].map(quote).join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qec', cmd, '/dev/null'], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let screen = '';
    let answered = 0;
    let seenUpTo = 0;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the terminal session did not finish; screen:\n${screen}`));
    }, 120_000);
    const onData = (d: Buffer) => {
      screen += d.toString();
      while (answered < answers.length) {
        const [prompt, answer] = answers[answered];
        const at = screen.slice(seenUpTo).search(prompt);
        if (at < 0) break;
        seenUpTo += at + 1;
        answered++;
        child.stdin.write(`${typeof answer === 'function' ? answer(screen) : answer}\r`);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, screen });
    });
  });
}

/** A loopback port nobody listens on (yet). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}
