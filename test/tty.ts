/**
 * Driving the Debian `age` CLI, which reads passphrases from the terminal only:
 * run it under util-linux `script` (a pseudo-terminal) and type the passphrase
 * when it prompts.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { tempDir } from './helpers.js';

export function ageDecryptWithPassphrase(file: string, passphrase: string, timeoutMs = 60_000): Promise<string> {
  const out = path.join(tempDir('age-out'), 'plain');
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qec', `age -d -o ${quote(out)} ${quote(file)}`, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let seen = '';
    let typed = false;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`age did not finish: ${seen}`));
    }, timeoutMs);
    child.stdout.on('data', (d: Buffer) => {
      seen += d.toString();
      if (!typed && /passphrase/i.test(seen)) {
        typed = true;
        child.stdin.write(passphrase + '\n');
      }
    });
    child.stderr.on('data', (d: Buffer) => (seen += d.toString()));
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0 && fs.existsSync(out)) resolve(fs.readFileSync(out, 'utf8'));
      else reject(new Error(`age failed (${code}): ${seen.replace(/\s+/g, ' ').trim()}`));
    });
  });
}
