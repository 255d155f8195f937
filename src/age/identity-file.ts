/**
 * age identity files: one AGE-SECRET-KEY-1… (or post-quantum AGE-SECRET-KEY-PQ-1…)
 * per line, '#' comments and blank lines ignored.
 */
import { ageIdentity, anyIdentityToRecipient } from './recipients.js';
import { check } from '../errors.js';

export function parseIdentityFile(text: string): string[] {
  const ids = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  check(ids.length > 0, 'AGE_KEY', 'no identity in the identity file');
  ids.forEach(ageIdentity); // validates each
  return ids;
}

export function formatIdentityFile(identity: string, created: Date): string {
  return `# created: ${created.toISOString().slice(0, 19)}Z\n# public key: ${anyIdentityToRecipient(identity)}\n${identity}\n`;
}
