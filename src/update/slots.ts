/**
 * What the update state machine (updater.ts) needs from the flash: two app slots (A/B) and
 * the boot record between them, as ESP-IDF's OTA partitions give them (otadata, ota_0, ota_1;
 * the SDK's `ota` module on boards, hosts/node/ota-flash.ts on Node).
 *
 * The rules every binding keeps, and the tests check on the Node one:
 * - writing goes only to the slot that is not running; the running slot is never touched;
 * - `complete` switches the boot slot in one atomic step, and only for a whole image;
 * - a new image boots "on trial"; if it restarts before `markValid`, the next boot returns to
 *   the previous slot (the bootloader's rollback), so a firmware that cannot come up cannot stay.
 */
import type { ReleaseManifest } from './release.js';

export type RunningState = 'valid' | 'trial';

export interface OtaWriter {
  /** Appends to the inactive slot. */
  write(bytes: Uint8Array): void;
  /** The image is whole: the next restart boots it, on trial. */
  complete(): void;
  /** Gives up: the boot slot stays as it was. */
  abort(): void;
}

export interface OtaSlots {
  /** the largest image a slot holds */
  readonly slotSize: number;
  /** how the running image booted: 'trial' until it marks itself valid after an update */
  runningState(): RunningState;
  /**
   * Starts writing the release's image (`release.size` bytes) into the inactive slot, erasing
   * it. A board ignores the rest of the manifest (its image says what it is); the Node
   * simulator keeps it with the slot as what that slot runs.
   */
  begin(release: ReleaseManifest): OtaWriter;
  /** The running image passed its self-test: boot it from now on. */
  markValid(): void;
  /** The running image failed on trial: the next restart boots the previous slot. */
  rollback(): void;
}
