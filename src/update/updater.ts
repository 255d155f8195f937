/**
 * The doorbell's end of a firmware update (docs/update-format.md, "State machine").
 *
 *   idle ──offer (both signatures, board, security, size checked)──▶ receiving
 *   receiving ──data in order──▶ receiving ──all bytes, SHA-256 matches──▶ installed (restart)
 *   receiving ──bad hash, short or long image, newer offer──▶ idle (writer aborted)
 *   boot on trial ──self-test passes (store opened, relay reached)──▶ valid, security recorded
 *   boot on trial ──deadline, or a restart first──▶ previous slot
 *
 * Nothing here touches the running slot: an update that fails anywhere leaves the firmware
 * that runs now, and the spool (a partition of its own) is never written by an update.
 * The recorded security version (store key `update.security`) rises only once an image that
 * carries it is marked valid.
 */
import type { KeyValueStore, Log, Sha256 } from '../host.js';
import { bytesToHex, equalBytes, readUintBE, utf8Decode, utf8ToBytes, writeUintBE } from '../bytes.js';
import { SealbellError } from '../errors.js';
import type { OtaSlots, OtaWriter } from './slots.js';
import { releaseId, verifyAuthorization, verifyRelease, type ReleaseManifest } from './release.js';

export const SECURITY_KEY = 'update.security';
/** "<release id>\n<version>\n<security>" installed and not yet marked valid; still there at a valid boot of another version: its trial failed */
export const TRYING_KEY = 'update.trying';
/** the release id whose trial failed last: offered again, it is refused (UPDATE_ROLLED_BACK) */
export const FAILED_KEY = 'update.failed';
/** Image bytes per data message, both ways: base64 of it fits a control message easily. */
export const UPDATE_CHUNK_BYTES = 16 * 1024;
/** A trial image that has not passed its self-test by then goes back (default 10 min). */
export const TRIAL_TIMEOUT = 10 * 60_000;

/** What the running firmware is (built in: a build define on boards, the slot's manifest on Node). */
export interface FirmwareInfo {
  board: string;
  version: string;
  security: number;
  /** SHA-256 of the running image, when the host knows it (an offer of it is UPDATE_CURRENT) */
  sha256?: string;
}

/** An update as it reaches the doorbell: the signed release and the owner's signed authorization. */
export interface UpdateOffer {
  release: Uint8Array;
  releaseSignature: string;
  authorization?: Uint8Array;
  authorizationSignature?: string;
}

/** The self-test's steps; the first boot of an image counts as `boot`. */
export type SelfTestStep = 'store' | 'relay';

export interface UpdaterOptions {
  slots: OtaSlots;
  store: KeyValueStore;
  firmware: FirmwareInfo;
  /** the release public key built into the firmware (Ed25519, 32 bytes) */
  releaseKey: Uint8Array;
  deviceId: string;
  /** the account authority of the roster the doorbell holds (undefined before setup) */
  authority(): Uint8Array | undefined;
  sha256(): Sha256;
  log?: Log;
  /** ms a trial image has to pass its self-test (default TRIAL_TIMEOUT) */
  trialTimeout?: number;
}

export type UpdaterState = 'idle' | 'receiving' | 'installed';

interface Receiving {
  id: string;
  manifest: ReleaseManifest;
  writer: OtaWriter;
  hash: Sha256;
  written: number;
}

const err = (code: string, message: string) => new SealbellError(code, message);

export class Updater {
  private receiving: Receiving | undefined;
  private installed_: string | undefined;
  private readonly trial: boolean;
  private readonly passed = new Set<SelfTestStep>();
  private trialDeadline: number | undefined;
  private outcome: 'valid' | 'rolled-back' | undefined;
  private readonly log: Log;

  constructor(private readonly o: UpdaterOptions) {
    this.log = o.log ?? (() => {});
    this.trial = o.slots.runningState() === 'trial';
    if (this.trial) this.log(`update: firmware ${o.firmware.version} (security ${o.firmware.security}) boots on trial`);
    else this.afterValidBoot();
  }

  /** A boot of a valid image: a release still "trying" went back (its trial failed); record the security version. */
  private afterValidBoot(): void {
    const store = this.o.store;
    const trying = store.get(TRYING_KEY);
    if (trying) {
      store.delete(TRYING_KEY);
      const [id, version, security] = utf8Decode(trying).split('\n');
      const f = this.o.firmware;
      // Marked valid, then the power went before the note was cleared: it is the one running.
      if (version === f.version && Number(security) === f.security) return this.raiseSecurity();
      store.set(FAILED_KEY, utf8ToBytes(id));
      this.log('update: the last update did not pass its trial; the previous firmware runs again and that release will not be installed again');
    }
    this.raiseSecurity();
  }

  get state(): UpdaterState {
    return this.installed_ ? 'installed' : this.receiving ? 'receiving' : 'idle';
  }

  /** The running image is on trial (its self-test has not passed yet). */
  get onTrial(): boolean {
    return this.trial && this.outcome === undefined;
  }

  /** The highest security version this doorbell has run validly. */
  get recordedSecurity(): number {
    const b = this.o.store.get(SECURITY_KEY);
    return b && b.length === 4 ? readUintBE(b, 0, 4) : 0;
  }

  /** What to tell the relay about the firmware. */
  get firmware(): FirmwareInfo & { recorded: number; trial: boolean } {
    return { ...this.o.firmware, recorded: this.recordedSecurity, trial: this.onTrial };
  }

  /**
   * Checks an offer and starts (or resumes) receiving it. Returns the release id and the
   * offset of the next byte wanted. Throws a SealbellError (and changes nothing) when refused.
   */
  offer(offer: UpdateOffer): { id: string; offset: number; size: number } {
    const o = this.o;
    if (this.onTrial) throw err('UPDATE_BUSY', 'the running firmware is still on trial: an update waits until it is marked valid');
    if (this.installed_) throw err('UPDATE_BUSY', 'an update is installed and waits for the restart');
    const release = verifyRelease(offer.release, offer.releaseSignature, o.releaseKey);
    const m = release.value;
    const id = releaseId(release.bytes);
    if (this.receiving?.id === id) return { id, offset: this.receiving.written, size: m.size };
    if (!offer.authorization || offer.authorizationSignature === undefined) {
      throw err('UPDATE_NO_AUTHORIZATION', 'the update has no authorization from the owner');
    }
    const authority = o.authority();
    if (!authority) throw err('UPDATE_NO_AUTHORIZATION', 'this doorbell has no owner yet (not set up)');
    verifyAuthorization(offer.authorization, offer.authorizationSignature, authority, o.deviceId, release.bytes);
    if (m.board !== o.firmware.board) throw err('UPDATE_BOARD', `the release is for board ${m.board}, this doorbell is ${o.firmware.board}`);
    const floor = this.recordedSecurity;
    if (m.security < floor) throw err('UPDATE_DOWNGRADE', `the release's security version ${m.security} is below ${floor}, the highest this doorbell has run`);
    if (o.firmware.sha256 !== undefined && m.sha256 === o.firmware.sha256) throw err('UPDATE_CURRENT', `release ${m.version} is the firmware running now`);
    const failed = o.store.get(FAILED_KEY);
    if (failed && equalBytes(failed, utf8ToBytes(id))) {
      throw err('UPDATE_ROLLED_BACK', `release ${m.version} failed its trial on this doorbell before: not installing it again`);
    }
    if (m.size > o.slots.slotSize) throw err('UPDATE_TOO_LARGE', `the image (${m.size} bytes) does not fit an app slot (${o.slots.slotSize} bytes)`);
    this.cancel('a newer offer replaces it');
    this.receiving = { id, manifest: m, writer: o.slots.begin(m), hash: o.sha256(), written: 0 };
    this.log(`update: receiving release ${m.version} (security ${m.security}, ${m.size} bytes)`);
    return { id, offset: 0, size: m.size };
  }

  /**
   * Image bytes at `offset` (must be the next one wanted). Returns the next offset, or
   * 'installed' once the image is whole, checked and set to boot: the host then restarts.
   */
  data(id: string, offset: number, bytes: Uint8Array): number | 'installed' {
    const r = this.receiving;
    if (!r || r.id !== id) throw err('UPDATE_NOT_OFFERED', 'image bytes for a release not being received');
    if (offset !== r.written) throw err('UPDATE_OFFSET', `expected bytes at ${r.written}, got ${offset}`);
    if (r.written + bytes.length > r.manifest.size) {
      this.abort('UPDATE_IMAGE_SIZE', `the image is longer than the ${r.manifest.size} bytes its release says`);
    }
    r.writer.write(bytes);
    r.hash.update(bytes);
    r.written += bytes.length;
    if (r.written < r.manifest.size) return r.written;
    const digest = bytesToHex(r.hash.digest());
    if (digest !== r.manifest.sha256) this.abort('UPDATE_IMAGE_HASH', "the image's SHA-256 does not match the signed release: corrupted or altered");
    r.writer.complete();
    // After complete(): a power cut before this line boots the image on trial without the record,
    // which only loses the "do not retry" note if that trial fails.
    this.o.store.set(TRYING_KEY, utf8ToBytes(`${r.id}\n${r.manifest.version}\n${r.manifest.security}`));
    this.receiving = undefined;
    this.installed_ = r.id;
    this.log(`update: release ${r.manifest.version} written and checked; it boots on trial at the restart`);
    return 'installed';
  }

  /** The relay has no more bytes of the image: it was shorter than its release says. */
  end(id: string): void {
    const r = this.receiving;
    if (!r || r.id !== id) return;
    this.abort('UPDATE_IMAGE_SIZE', `the image ended after ${r.written} of its ${r.manifest.size} bytes: truncated`);
  }

  /** Drops a download in progress (the connection went, a newer offer came); the boot slot stays. */
  cancel(why: string): void {
    const r = this.receiving;
    if (!r) return;
    this.receiving = undefined;
    try {
      r.writer.abort();
    } catch (e) {
      this.log(`update: aborting the slot writer: ${String(e)}`);
    }
    this.log(`update: release ${r.manifest.version} dropped: ${why}`);
  }

  private abort(code: string, message: string): never {
    this.cancel(message);
    throw err(code, message);
  }

  // --- boot side --------------------------------------------------------------------------

  /** One self-test step passed; with all of them the trial image is marked valid. */
  selfTest(step: SelfTestStep, now: number): void {
    if (!this.onTrial) return;
    this.trialDeadline ??= now + (this.o.trialTimeout ?? TRIAL_TIMEOUT);
    this.passed.add(step);
    if (!this.passed.has('store') || !this.passed.has('relay')) return;
    // Valid first, then the security version: a power cut between them records it at the next boot.
    this.o.slots.markValid();
    this.outcome = 'valid';
    this.o.store.delete(TRYING_KEY);
    this.raiseSecurity();
    this.log(`update: firmware ${this.o.firmware.version} passed its self-test and is marked valid; recorded security version ${this.recordedSecurity}`);
  }

  /**
   * Time passes. Returns 'restart' when a trial image missed its deadline and was rolled
   * back: the host restarts into the previous slot.
   */
  tick(now: number): 'restart' | undefined {
    if (!this.onTrial) return undefined;
    this.trialDeadline ??= now + (this.o.trialTimeout ?? TRIAL_TIMEOUT);
    if (now < this.trialDeadline) return undefined;
    const missing = (['store', 'relay'] as const).filter((s) => !this.passed.has(s));
    this.log(`update: firmware ${this.o.firmware.version} failed its self-test (${missing.join(', ')} not reached): back to the previous firmware`);
    this.o.slots.rollback();
    this.outcome = 'rolled-back';
    return 'restart';
  }

  private raiseSecurity(): void {
    const s = this.o.firmware.security;
    if (s <= this.recordedSecurity) return;
    const b = new Uint8Array(4);
    writeUintBE(b, 0, s, 4);
    this.o.store.set(SECURITY_KEY, b);
  }
}
