/**
 * Secrets for the command line never go in its arguments (other users see those in
 * `ps`): they come from a file, an environment variable, or stdin — one per line, in
 * the order the command asks for them. A terminal gets a prompt for each and, like
 * stock `age`, nothing typed is echoed (the terminal is put in raw mode while typing).
 * Commands ask for all their secrets before any slow step, so nothing is typed ahead
 * while the terminal echoes.
 */
import fs from 'node:fs';
import { SealbellError } from '../src/errors.js';

export interface SecretSource {
  /** a file holding the secret (first line) */
  file?: string;
  /** an environment variable that may hold it */
  env?: string;
  /** what to ask for on stdin, e.g. "passphrase" */
  what: string;
}

let piped: string[] | undefined;

const CTRL_C = '\u0003';
const CTRL_D = '\u0004';
const CTRL_U = '\u0015';
const BACKSPACES = new Set(['\u007f', '\b']);

/** What the terminal sent after the last line we took (a paste of several lines). */
let typedAhead = '';

/**
 * Reads one line from the terminal without echoing it. Ctrl-C cancels (CANCELLED),
 * Ctrl-D on an empty line gives undefined, Backspace and Ctrl-U edit.
 */
export function readHiddenLine(prompt: string, input: NodeJS.ReadStream = process.stdin, output: NodeJS.WritableStream = process.stderr): Promise<string | undefined> {
  // Echo off before the prompt shows: someone quick (or a script) may answer at once.
  input.setRawMode(true);
  output.write(prompt);
  return new Promise((resolve, reject) => {
    let line = '';
    const finish = (result: () => void) => {
      input.off('data', onData);
      input.setRawMode(false);
      input.pause();
      output.write('\n');
      result();
    };
    const take = (text: string): boolean => {
      for (let i = 0; i < text.length; i++) {
        const ch = text[i];
        if (ch === '\r' || ch === '\n') {
          typedAhead = text.slice(i + 1).replace(/^\n/, '');
          finish(() => resolve(line));
          return true;
        }
        if (ch === CTRL_C) {
          finish(() => reject(new SealbellError('CANCELLED', 'cancelled')));
          return true;
        }
        if (ch === CTRL_D && line === '') {
          finish(() => resolve(undefined));
          return true;
        }
        if (BACKSPACES.has(ch)) line = line.slice(0, -1);
        else if (ch === CTRL_U) line = '';
        else if (ch >= ' ') line += ch;
      }
      return false;
    };
    const onData = (chunk: Buffer | string) => {
      take(typeof chunk === 'string' ? chunk : chunk.toString('utf8'));
    };
    const ahead = typedAhead;
    typedAhead = '';
    if (take(ahead)) return;
    input.on('data', onData);
    input.resume();
  });
}

async function stdinLine(what: string): Promise<string | undefined> {
  if (process.stdin.isTTY) return readHiddenLine(`Enter ${what} (not shown): `);
  if (!piped) {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    piped = Buffer.concat(chunks).toString('utf8').split(/\r?\n/);
  }
  return piped.shift();
}

/** Whether secrets are typed at a terminal (so a confirmation step makes sense). */
export const typingAtTerminal = (): boolean => process.stdin.isTTY === true;

export async function readSecret(s: SecretSource): Promise<string> {
  if (s.file) return firstLine(fs.readFileSync(s.file, 'utf8'));
  if (s.env && process.env[s.env]) return process.env[s.env]!;
  const line = firstLine((await stdinLine(s.what)) ?? '');
  if (!line) throw new SealbellError('NO_SECRET', `no ${s.what} given (on stdin${s.env ? ` or in $${s.env}` : ''})`);
  return line;
}

function firstLine(text: string): string {
  return text.split(/\r?\n/)[0].trim();
}
