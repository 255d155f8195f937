/**
 * A signed roster as one byte string, for the setup channel, the relay and the
 * device's store: "SBR1" ‖ u16 length ‖ roster.json ‖ u16 length ‖ roster.json.minisig.
 * Parsing checks the framing only; verifyRoster checks the contents and signature.
 */
import { utf8ToBytes } from '../bytes.js';
import { Reader, Writer } from '../wire.js';
import { encodeSignedBundle, readSignedBundle, type SignedBytes } from '../signed-document.js';
import { MAX_ROSTER_BYTES, MAX_SIGNATURE_BYTES, type SignedRoster } from './roster.js';

const MAGIC = utf8ToBytes('SBR1');
export const MAX_BUNDLE_BYTES = MAGIC.length + 2 + MAX_ROSTER_BYTES + 2 + MAX_SIGNATURE_BYTES;

export type RosterBundle = SignedBytes;

export function encodeRosterBundle(s: SignedRoster | RosterBundle): Uint8Array {
  return encodeSignedBundle(MAGIC, s);
}

export function parseRosterBundle(bundle: Uint8Array): RosterBundle {
  const r = new Reader(bundle, 'ROSTER_FORMAT', 'signed roster');
  if (!(bundle instanceof Uint8Array)) r.fail('not bytes');
  if (bundle.length > MAX_BUNDLE_BYTES) r.fail(`longer than ${MAX_BUNDLE_BYTES} bytes`);
  const one = readBundle(r);
  r.end();
  return one;
}

/**
 * A run of successive rosters (each the successor of the one before, the first the successor
 * of what the doorbell holds): their bundles back to back, at most MAX_RUN of them. A single
 * bundle is a run of one, so the device takes either.
 */
export const MAX_RUN = 4;
export const MAX_RUN_BYTES = MAX_RUN * MAX_BUNDLE_BYTES;

export function encodeRosterRun(run: (SignedRoster | RosterBundle)[]): Uint8Array {
  const w = new Writer();
  for (const s of run) w.bytes(encodeRosterBundle(s));
  return w.finish();
}

export function parseRosterRun(run: Uint8Array): RosterBundle[] {
  const r = new Reader(run, 'ROSTER_FORMAT', 'run of signed rosters');
  if (!(run instanceof Uint8Array)) r.fail('not bytes');
  if (run.length > MAX_RUN_BYTES) r.fail(`longer than ${MAX_RUN_BYTES} bytes`);
  const out: RosterBundle[] = [];
  do {
    if (out.length === MAX_RUN) r.fail(`more than ${MAX_RUN} rosters`);
    out.push(readBundle(r));
  } while (r.remaining > 0);
  return out;
}

function readBundle(r: Reader): RosterBundle {
  return readSignedBundle(r, MAGIC, { what: 'roster', maxBytes: MAX_ROSTER_BYTES, maxSignature: MAX_SIGNATURE_BYTES });
}
