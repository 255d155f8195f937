/**
 * The hosted doorbell's control socket: a Unix socket in its state folder (mode
 * 0600, so only its owner can ring it) that takes one command per line —
 * `press`, `long-press`, `motion` (the PIR pin), `walk-by` (someone crosses the camera's
 * picture) — and answers one line, `ok …` or `error …`.
 * `sealbell doorbell press --state DIR` is its client.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { SealbellError } from '../../src/errors.js';

export const CONTROL_SOCKET = 'control.sock';
export const CONTROL_COMMANDS = ['press', 'long-press', 'motion', 'walk-by'] as const;
export type ControlCommand = (typeof CONTROL_COMMANDS)[number];

export const controlPath = (state: string) => path.join(state, CONTROL_SOCKET);

export interface ControlServer {
  close(): Promise<void>;
}

/** Listens on DIR/control.sock; `handle` answers each command with one line. */
export async function startControl(state: string, handle: (c: ControlCommand) => string): Promise<ControlServer> {
  const file = controlPath(state);
  // A socket left by a doorbell that did not stop cleanly: remove it unless one still answers.
  if (fs.existsSync(file)) {
    if (await answers(file)) throw new SealbellError('DOORBELL_RUNNING', `a doorbell is already running on ${state}`);
    fs.rmSync(file, { force: true });
  }
  const server = net.createServer((socket) => {
    let line = '';
    socket.setEncoding('utf8');
    socket.on('error', () => {});
    socket.on('data', (d: string) => {
      line += d;
      if (line.length > 256) return void socket.end('error line too long\n');
      const nl = line.indexOf('\n');
      if (nl < 0) return;
      const command = line.slice(0, nl).trim();
      socket.end(CONTROL_COMMANDS.includes(command as ControlCommand) ? handle(command as ControlCommand) + '\n' : `error unknown command ${JSON.stringify(command.slice(0, 40))}\n`);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    const old = process.umask(0o177); // the socket is made 0600 from the start
    try {
      server.listen(file, () => resolve());
    } finally {
      process.umask(old);
    }
  });
  fs.chmodSync(file, 0o600);
  return {
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        fs.rmSync(file, { force: true });
      }),
  };
}

function answers(file: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(file);
    s.on('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

/** Sends one command to the doorbell running on DIR; returns its answer. */
export function sendControl(state: string, command: ControlCommand): Promise<string> {
  const file = controlPath(state);
  return new Promise((resolve, reject) => {
    let answer = '';
    const s = net.connect(file);
    s.setEncoding('utf8');
    s.on('connect', () => s.write(`${command}\n`));
    s.on('data', (d: string) => (answer += d));
    s.on('end', () => {
      const line = answer.trim();
      if (line.startsWith('ok')) resolve(line.slice(2).trim());
      else reject(new SealbellError('DOORBELL_REFUSED', line.replace(/^error\s*/, '') || 'no answer'));
    });
    s.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT' || e.code === 'ECONNREFUSED') reject(new SealbellError('DOORBELL_NOT_RUNNING', `no doorbell is running on ${state} (start it with: sealbell doorbell --state ${state})`));
      else reject(new SealbellError('DOORBELL_CONTROL', `cannot reach the doorbell on ${state}: ${e.code ?? e.message}`));
    });
  });
}
