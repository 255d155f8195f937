/**
 * Secrets for the command line never go in its arguments (other users see those in
 * `ps`): they come from a file, an environment variable, or the first line of stdin.
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

export async function readSecret(s: SecretSource): Promise<string> {
  if (s.file) return firstLine(fs.readFileSync(s.file, 'utf8'));
  if (s.env && process.env[s.env]) return process.env[s.env]!;
  if (process.stdin.isTTY) process.stderr.write(`${s.what}: `);
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) {
    chunks.push(chunk as Buffer);
    if ((chunk as Buffer).includes(10)) break;
  }
  const line = firstLine(Buffer.concat(chunks).toString('utf8'));
  if (!line) throw new SealbellError('NO_SECRET', `no ${s.what} given (on stdin${s.env ? ` or in $${s.env}` : ''})`);
  return line;
}

function firstLine(text: string): string {
  return text.split(/\r?\n/)[0].trim();
}
