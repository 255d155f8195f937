/**
 * The device's end of roster updates over the relay: what it holds (told to
 * the relay after each connect, acknowledged with the device key), and updates
 * checked and stored by RosterStore before anything changes: only a successor of exactly
 * the roster held, signed by the authority it names (so a fork, a replay or a skipped
 * revocation is refused), following an authority handover when a roster names one.
 */
import { equalBytes } from '../bytes.js';
import type { DeviceIdentity } from '../device/identity.js';
import type { RosterLink } from '../uplink/uplink.js';
import { encodeRosterBundle } from './bundle.js';
import { signRosterAck } from './ack.js';
import { recipientsOf, type RosterStore, type StoredRoster } from './roster-store.js';
import type { Doorbell } from '../device/doorbell.js';

/** What a roster change does to the doorbell. */
export type RosterFollower = Pick<Doorbell, 'recording' | 'finishClip' | 'setRecipients'>;

export interface DeviceRosterOptions {
  rosters: RosterStore;
  identity: DeviceIdentity;
  /**
   * The doorbell to follow each stored roster: clips from then on are sealed to exactly it,
   * and when a phone or the history recipient left it, a clip in progress is ended so that
   * nothing more is sealed to them.
   */
  doorbell?: RosterFollower;
  /** after the doorbell has followed (logging, host state); `removed` as above */
  onChange?: (roster: StoredRoster, removed: boolean) => void;
}

export class DeviceRoster implements RosterLink {
  /** the acknowledgement of the held roster, signed once per roster */
  private ack: { bytes: Uint8Array; text: string } | undefined;

  constructor(private readonly o: DeviceRosterOptions) {}

  held(): { bundle: Uint8Array; authority: Uint8Array; ack: string } | undefined {
    const r = this.o.rosters.load();
    if (!r) return undefined;
    if (!this.ack || !equalBytes(this.ack.bytes, r.bytes)) {
      this.ack = { bytes: r.bytes, text: signRosterAck(r.bytes, r.roster, this.o.identity.key) };
    }
    return { bundle: encodeRosterBundle(r), authority: r.authority, ack: this.ack!.text };
  }

  /**
   * A roster update from the relay: one roster, or a run of successors (bundle.ts), taken
   * only as the successor of exactly what is held (RosterStore.acceptRun: a fork, a gap or
   * a replay is refused and changes nothing).
   */
  update(run: Uint8Array): void {
    const before = this.o.rosters.load();
    const taken = this.o.rosters.acceptRun(run, before);
    const next = taken[taken.length - 1];
    const removed = before !== undefined && removesSomeone(before, next);
    const d = this.o.doorbell;
    if (d) {
      if (removed && d.recording) d.finishClip();
      d.setRecipients(recipientsOf(next.roster));
    }
    this.o.onChange?.(next, removed);
  }
}

function removesSomeone(before: StoredRoster, after: StoredRoster): boolean {
  const now = new Set(after.roster.phones.map((p) => p.recipient));
  if (after.roster.history !== null) now.add(after.roster.history);
  const was = before.roster.phones.map((p) => p.recipient).concat(before.roster.history === null ? [] : [before.roster.history]);
  return was.some((r) => !now.has(r));
}

