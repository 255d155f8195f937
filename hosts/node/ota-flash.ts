/**
 * The hosted simulator's A/B app slots (src/update/slots.ts), as ESP-IDF's OTA partitions
 * and bootloader behave with app rollback enabled, on files in a folder:
 *
 *   ota_0.bin, ota_1.bin   the two app slots (the image bytes)
 *   otadata.json           which slot boots and each slot's state, written atomically
 *                          (temporary file, fsync, rename): a power cut keeps the old or the new
 *
 * Slot states follow esp_ota_img_states_t: `new` (complete() set it to boot), `pending`
 * (booting it on trial), `valid`, `invalid` (rolled back), `aborted` (restarted while pending),
 * `empty` (erased or being written). `open()` is the bootloader: a `new` slot boots as
 * `pending`; a slot still `pending` at the next boot is `aborted` and the other slot boots.
 *
 * On a board the firmware knows what it is from its build; here the release manifest that
 * complete() was given is kept with the slot, so the simulator "runs" the release it installed.
 *
 * Tests cut the power at any mutating step (`cut`): the step throws PowerCut, a slot write
 * torn halfway; reopening the folder is the next boot.
 */
import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from './kv-store.js';
import type { OtaSlots, OtaWriter, RunningState } from '../../src/update/slots.js';
import type { FirmwareInfo } from '../../src/update/updater.js';
import type { ReleaseManifest } from '../../src/update/release.js';

export type SlotState = 'empty' | 'new' | 'pending' | 'valid' | 'invalid' | 'aborted';

interface OtaData {
  boot: 0 | 1;
  slots: [SlotRecord, SlotRecord];
}

interface SlotRecord {
  state: SlotState;
  /** the firmware in the slot (the simulator's stand-in for what the image's build says) */
  firmware?: FirmwareInfo;
}

export class PowerCut extends Error {
  constructor(what: string) {
    super(`power cut: ${what}`);
    this.name = 'PowerCut';
  }
}

export interface OtaFlashOptions {
  /** the folder (NodeDoorbell: DIR/ota) */
  dir?: string;
  /** bytes per slot (default 1.75 MiB, the boards' ota slots) */
  slotSize?: number;
  /** what runs from slot 0 when the folder is new (the firmware flashed over USB) */
  factory: FirmwareInfo;
  /** tests: asked before each mutating step; true cuts the power there (a slot write torn halfway) */
  cut?: (what: string) => boolean;
}

export class FileOtaFlash implements OtaSlots {
  readonly slotSize: number;
  /** the slot running since open() */
  readonly running: 0 | 1;
  private data: OtaData;

  /** The bootloader: opens (or makes) the folder and picks the slot to run. */
  constructor(
    readonly dir: string,
    private readonly o: Omit<OtaFlashOptions, 'dir'>,
  ) {
    this.slotSize = o.slotSize ?? 1792 * 1024;
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const stored = readOtaData(this.file('otadata.json'));
    this.data = stored ?? { boot: 0, slots: [{ state: 'valid', firmware: o.factory }, { state: 'empty' }] };
    if (!stored) this.save('make otadata');
    let boot = this.data.boot;
    const s = this.data.slots[boot];
    if (s.state === 'pending') {
      // Restarted on trial without being marked valid: ESP-IDF marks it aborted and boots the other.
      this.update('abort the unconfirmed trial', (d) => {
        d.slots[boot].state = 'aborted';
        d.boot = other(boot);
      });
      boot = this.data.boot;
    } else if (s.state === 'new') {
      this.update('boot the new image on trial', (d) => {
        d.slots[boot].state = 'pending';
      });
    } else if (s.state !== 'valid') {
      this.update('boot the other slot', (d) => {
        d.boot = other(boot);
      });
      boot = this.data.boot;
    }
    this.running = boot;
  }

  /** What runs now: the release in the running slot. */
  get firmware(): FirmwareInfo {
    return this.data.slots[this.running].firmware ?? this.o.factory;
  }

  /** Each slot's state and firmware (for tests and `sealbell doorbell`'s log). */
  get slots(): readonly SlotRecord[] {
    return this.data.slots.map((s) => ({ ...s }));
  }

  get bootSlot(): 0 | 1 {
    return this.data.boot;
  }

  runningState(): RunningState {
    return this.data.slots[this.running].state === 'pending' ? 'trial' : 'valid';
  }

  /** The image bytes in a slot (tests: the running firmware was never written). */
  image(slot: 0 | 1): Uint8Array {
    try {
      return new Uint8Array(fs.readFileSync(this.file(`ota_${slot}.bin`)));
    } catch {
      return new Uint8Array(0);
    }
  }

  begin(release: ReleaseManifest): OtaWriter {
    const size = release.size;
    const firmware: FirmwareInfo = { board: release.board, version: release.version, security: release.security, sha256: release.sha256 };
    if (size > this.slotSize) throw new RangeError('the image does not fit the slot');
    const target = other(this.running);
    const file = this.file(`ota_${target}.bin`);
    // Erase: the slot is unbootable from here until complete().
    this.update('erase the inactive slot', (d) => {
      d.slots[target] = { state: 'empty' };
      if (d.boot === target) d.boot = this.running;
    });
    this.step('truncate the inactive slot');
    fs.writeFileSync(file, new Uint8Array(0), { mode: 0o600 });
    let written = 0;
    let open = true;
    return {
      write: (bytes: Uint8Array) => {
        if (!open) throw new Error('the slot writer is closed');
        if (written + bytes.length > size) throw new RangeError('more bytes than begin() said');
        this.step('write image bytes', () => fs.appendFileSync(file, bytes.subarray(0, bytes.length >> 1)));
        fs.appendFileSync(file, bytes);
        written += bytes.length;
      },
      complete: () => {
        if (!open) throw new Error('the slot writer is closed');
        if (written !== size) throw new Error(`the slot holds ${written} of ${size} bytes`);
        open = false;
        const fd = fs.openSync(file, 'r');
        fs.fsyncSync(fd);
        fs.closeSync(fd);
        this.update('set the boot slot', (d) => {
          d.slots[target] = { state: 'new', firmware };
          d.boot = target;
        });
      },
      abort: () => {
        open = false;
      },
    };
  }

  markValid(): void {
    if (this.data.slots[this.running].state === 'valid') return;
    this.update('mark the running image valid', (d) => {
      d.slots[this.running].state = 'valid';
    });
  }

  rollback(): void {
    this.update('roll back to the previous slot', (d) => {
      d.slots[this.running].state = 'invalid';
      d.boot = other(this.running);
    });
  }

  // -------------------------------------------------------------------------------------

  private file(name: string): string {
    return path.join(this.dir, name);
  }

  /** A mutating step: where the tests may cut the power (after `partial`, a torn write). */
  private step(what: string, partial?: () => void): void {
    if (this.o.cut?.(what)) {
      partial?.();
      throw new PowerCut(what);
    }
  }

  private update(what: string, change: (d: OtaData) => void): void {
    const next: OtaData = JSON.parse(JSON.stringify(this.data));
    change(next);
    this.step(what);
    this.data = next;
    this.save();
  }

  private save(what?: string): void {
    if (what) this.step(what);
    writeFileAtomic(this.file('otadata.json'), JSON.stringify(this.data) + '\n');
  }
}

const other = (slot: 0 | 1): 0 | 1 => (slot === 0 ? 1 : 0);

function readOtaData(file: string): OtaData | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const d = JSON.parse(text) as OtaData;
  if ((d.boot !== 0 && d.boot !== 1) || !Array.isArray(d.slots) || d.slots.length !== 2) throw new Error(`${file} is corrupt`);
  return d;
}
