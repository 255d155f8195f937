// Running the `sealbell` command from tests: each command a real child process.
import assert from 'node:assert/strict';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import type { HostedDoorbell } from '../hosts/node/hosted-doorbell.js';
import { ROOT } from './helpers.js';

export interface Result {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function sealbell(args: string[], o: { env?: Record<string, string>; input?: string } = {}): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'bin/sealbell.js'), ...args], { env: { ...process.env, ...o.env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
    child.stdin.end(o.input ?? '');
  });
}

/** Starts a long-running command; resolves once a line of its output matches. */
export function startUntil(args: string[], pattern: RegExp): Promise<{ child: ChildProcess; match: RegExpMatchArray; output: () => string }> {
  const child = spawn(process.execPath, [path.join(ROOT, 'bin/sealbell.js'), ...args]);
  let out = '';
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      out += d;
      const m = out.match(pattern);
      if (m) resolve({ child, match: m, output: () => out });
    });
    child.stderr!.on('data', (d) => (out += d));
    child.on('close', (code) => reject(new Error(`sealbell ${args[0]} exited ${code}: ${out}`)));
  });
}

/** Polls `done` (letting the doorbell's I/O run) for up to 60 s of real time. */
export async function waitFor(done: () => boolean | Promise<boolean>, what: string, doorbell?: HostedDoorbell): Promise<void> {
  const end = Date.now() + 60_000;
  while (!(await done())) {
    if (Date.now() > end) assert.fail(`timed out: ${what}`);
    if (doorbell) await doorbell.idle(20);
    else await new Promise((r) => setTimeout(r, 20));
  }
}

export const ok = (r: Result) => {
  assert.equal(r.status, 0, r.stderr || r.stdout);
  return r.stdout;
};
