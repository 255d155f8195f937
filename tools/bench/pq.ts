/**
 * Post-quantum figures: XS meter units for one hybrid (mlkem768x25519) stanza wrap and a
 * hybrid live session start, beside the same for X25519 (tools/bench/xs-pq-entry.ts), and
 * the header bytes each recipient adds.
 */
import { encodeHeader } from '../../src/age/header.js';
import { anyIdentityToRecipient, generateAgeIdentity, wrapFileKeyToAll, type Kem } from '../../src/age/recipients.js';
import { systemRandom } from '../../src/crypto/noble.js';

/** Bytes one more recipient adds to a clip header (the same for every recipient of a kind). */
function headerBytesPerRecipient(kem: Kem): number {
  const recipients = [0, 1].map(() => anyIdentityToRecipient(generateAgeIdentity(kem, systemRandom)));
  const size = (n: number) => encodeHeader(new Uint8Array(16), wrapFileKeyToAll(new Uint8Array(16), recipients.slice(0, n), systemRandom)).length;
  return size(2) - size(1);
}

export async function pqFigures(root: string): Promise<Record<string, number>> {
  const { measure } = await import('../xs/run.js');
  const ops = ['noop', 'x25519_stanza', 'pq_stanza', 'x25519_live_start', 'pq_live_start'];
  const m = await measure('tools/bench/xs-pq-entry.ts', ops, { root, runs: 3, warmup: 2, allowVariance: true });
  // (noble keeps small caches, so runs may differ slightly: the median is reported)
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const units = (op: string) => median(m[op].computeRuns) - median(m.noop.computeRuns);
  return {
    xs_x25519_stanza_wrap: units('x25519_stanza'),
    xs_pq_stanza_wrap: units('pq_stanza'),
    xs_pq_vs_x25519_stanza_wrap: +(units('pq_stanza') / units('x25519_stanza')).toFixed(2),
    xs_x25519_live_session_start: units('x25519_live_start'),
    xs_pq_live_session_start: units('pq_live_start'),
    x25519_header_bytes_per_recipient: headerBytesPerRecipient('x25519'),
    pq_header_bytes_per_recipient: headerBytesPerRecipient('mlkem768x25519'),
  };
}
