/**
 * Firmware updates on a board (docs/update-format.md): what the build says this firmware is and
 * which release key it trusts, from mcconfig arguments (hence `mc/config`):
 *
 *   mcconfig -d -m -p esp32:boards/<board> version=1.4.0 security=3 releaseKey=<64 hex digits>
 *
 * (`releaseKey` is the Ed25519 key in release.pub: its second line minus the 10-byte header;
 * docs/moddable.md shows the one-liner.) Hex, because mcconfig takes `name=value` only when the
 * argument has exactly one `=`: a padded base64 key (44 characters ending in `=`) was taken for a
 * manifest path. Base64 is still read when the key comes from a manifest's `config`. Without a
 * release key, a version, or OTA partitions the doorbell takes no updates and says why.
 * `trialSeconds=N` shortens the 10-minute trial deadline (tools/qemu-e2e.ts tests the rollback with it).
 */
import { base64 } from '@scure/base';
import { hexToBytes } from '../../src/bytes.js';
import type { AppOta } from '../../src/app/host.js';
import type { Log } from '../../src/host.js';
import type { OtaSlots } from '../../src/update/slots.js';

export interface OtaBuild {
  board?: string;
  version?: unknown;
  security?: unknown;
  releaseKey?: unknown;
  /** seconds a trial image has to pass its self-test (default 600): a test build's shorter deadline */
  trialSeconds?: unknown;
}

export function otaFromConfig(build: OtaBuild, slots: OtaSlots | undefined, restart: () => void, log: Log): AppOta | undefined {
  const off = (why: string) => {
    log(`update: off (${why})`);
    return undefined;
  };
  if (!slots) return off('no OTA partitions');
  if (typeof build.releaseKey !== 'string') return off('the build has no releaseKey');
  let releaseKey: Uint8Array;
  try {
    releaseKey = /^[0-9a-fA-F]{64}$/.test(build.releaseKey) ? hexToBytes(build.releaseKey.toLowerCase()) : base64.decode(build.releaseKey);
  } catch {
    return off('releaseKey is neither 64 hex digits nor base64');
  }
  if (releaseKey.length !== 32) return off('releaseKey is not a 32-byte Ed25519 key');
  const security = Number(build.security ?? 0);
  if (!Number.isInteger(security) || security < 0 || security > 0xffffffff) return off('security is not a whole number');
  const version = typeof build.version === 'string' ? build.version : String(build.version ?? '0.0.0');
  const trialSeconds = build.trialSeconds === undefined ? undefined : Number(build.trialSeconds);
  if (trialSeconds !== undefined && !(Number.isInteger(trialSeconds) && trialSeconds > 0)) return off('trialSeconds is not a positive whole number');
  const trialTimeout = trialSeconds === undefined ? undefined : trialSeconds * 1000;
  return { slots, releaseKey, restart, trialTimeout, firmware: { board: build.board ?? 'unknown', version, security } };
}
