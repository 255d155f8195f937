/**
 * `sealbell phone watch`'s event notices (docs/event-format.md): fetched by the reference a
 * push or the follow socket gives, the doorbell's signature checked, opened with this phone's
 * identities, refused when already seen or stale, then shown as one line with the poster
 * written to a file. What this phone has seen is kept in devices/<ID>/events-seen.json.
 */
import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../../hosts/node/kv-store.js';
import { decodePublicKey } from '../../src/minisign.js';
import { nobleBackend } from '../../src/crypto/noble.js';
import { checkFresh, openEvent, type OpenedEvent, type SeenEvents } from '../../src/event/event.js';
import { defaultDoorbellName, eventLine } from '../../web/push/notice-text.js';
import { readDevice, readPhone } from './state.js';

/** Remembered events per doorbell (oldest forgotten first): more than a stale event's age holds. */
const MAX_SEEN = 1000;

/** This phone's record of the events it has shown, in a file. */
export function seenFile(dir: string, deviceId: string): SeenEvents {
  const file = path.join(dir, 'devices', deviceId, 'events-seen.json');
  const read = (): string[] => {
    try {
      const v = JSON.parse(fs.readFileSync(file, 'utf8')) as { seen?: unknown };
      return Array.isArray(v.seen) ? v.seen.filter((s): s is string => typeof s === 'string') : [];
    } catch {
      return [];
    }
  };
  return {
    has: (key) => read().includes(key),
    add: (key) => writeFileAtomic(file, JSON.stringify({ v: 1, seen: [...read(), key].slice(-MAX_SEEN) }) + '\n'),
  };
}

export interface ShownEvent extends OpenedEvent {
  /** "Front door — someone rang, 17:02" */
  line: string;
  /** where the poster was written (mode 0600), when the event has one */
  posterFile?: string;
}

export interface ShowEventOptions {
  dir: string;
  deviceId: string;
  sealed: Uint8Array;
  signature: string;
  /** the doorbell's name (default "Doorbell <first 4 digits of its id>") */
  name?: string;
  /** where posters go (default <dir>/events) */
  posterDir?: string;
  now?: number;
  timeZone?: string;
}

/** Checks and opens one event; throws a SealbellError with an EVENT_* code when refused. */
export async function showEvent(o: ShowEventOptions): Promise<ShownEvent> {
  const phone = readPhone(o.dir);
  const device = readDevice(o.dir, o.deviceId);
  const e = openEvent(o.sealed, o.signature, {
    aead: nobleBackend.aead,
    device: decodePublicKey(device.publicKeyText),
    identities: [phone.identity, ...(phone.previous ?? [])],
  });
  await checkFresh(e, seenFile(o.dir, o.deviceId), o.now ?? Date.now());
  const shown: ShownEvent = { ...e, line: eventLine(o.name ?? defaultDoorbellName(o.deviceId), e.trigger, e.time, o.timeZone) };
  if (e.poster) {
    const dir = o.posterDir ?? path.join(o.dir, 'events');
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    shown.posterFile = path.join(dir, `${e.clip}.jpg`);
    fs.writeFileSync(shown.posterFile, e.poster, { mode: 0o600 });
  }
  return shown;
}
