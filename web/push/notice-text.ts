/**
 * What a phone shows for an event notice: "Front door — someone rang" and the local time.
 * Shared by the web app's service worker (handler.ts) and `sealbell phone watch`. Phones only:
 * the device never formats these.
 */
import type { ClipTrigger } from '../../src/clip/manifest.js';

export function eventTitle(doorbellName: string, trigger: ClipTrigger): string {
  return `${doorbellName} — ${trigger === 'press' ? 'someone rang' : 'motion'}`;
}

/** The trigger's local time as hours and minutes ("17:02"), in `timeZone` (default: the phone's). */
export function eventClock(time: number, timeZone?: string): string {
  return new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZone }).format(new Date(time));
}

/** One line, as `phone watch` prints it: "Front door — someone rang, 17:02". */
export function eventLine(doorbellName: string, trigger: ClipTrigger, time: number, timeZone?: string): string {
  return `${eventTitle(doorbellName, trigger)}, ${eventClock(time, timeZone)}`;
}

/** A doorbell's name when the phone has none for it. */
export const defaultDoorbellName = (deviceId: string): string => `Doorbell ${deviceId.slice(0, 4)}`;
