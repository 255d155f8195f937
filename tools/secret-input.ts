/**
 * Secrets for the command line never go in its arguments (other users see those in
 * `ps`): they come from a file, an environment variable, or stdin — one per line, in
 * the order the command asks for them (a terminal gets a prompt for each).
 */
import fs from 'node:fs';
import readline from 'node:readline/promises';
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

async function stdinLine(what: string): Promise<string | undefined> {
  if (process.stdin.isTTY) {
    const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
    try {
      return await rl.question(`${what}: `);
    } finally {
      rl.close();
    }
  }
  if (!piped) {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    piped = Buffer.concat(chunks).toString('utf8').split(/\r?\n/);
  }
  return piped.shift();
}

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
