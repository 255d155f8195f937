/**
 * The relay's log: one line per connection, upload, refusal and roster change, as text
 * or (`sealbell relay --log-format json`) one JSON object per line for log collectors.
 * Lines carry ids, addresses, states and error codes; never a token, a key, a passphrase
 * or clip contents (the relay has no plaintext to leak, and tokens are never passed here).
 *
 *   {"time":"2026-12-03T06:50:00.000Z","event":"refused","msg":"refused GET /v1/devices/…/clips: 401 UNAUTHENTICATED"}
 */
import type { IncomingMessage } from 'node:http';
import type { RelayError } from './errors.js';

export type LogFormat = 'text' | 'json';

export const LOG_FORMATS: readonly LogFormat[] = ['text', 'json'];

/** What kind of line it is, from its wording: the `event` field of a JSON line. */
const EVENTS: [RegExp, string][] = [
  [/^connection from /, 'connection'],
  [/ (connected|disconnected)\b|following /, 'connection'],
  [/^refused |refused roster update|roster refused/, 'refused'],
  [/roster/, 'roster'],
  [/clip \S+ (verified|rejected|incomplete)|clip \S+ stored/, 'upload'],
  [/registered/, 'device'],
  [/internal error/, 'error'],
  [/listening on/, 'start'],
];

/** A log function for startRelay's `log` option. */
export function relayLogger(format: LogFormat, write: (line: string) => void = (l) => console.log(l)): (line: string) => void {
  // A device or phone chooses some of what is logged (a clip id, a reason): no control characters pass.
  const clean = (line: string) => line.replace(/[\u0000-\u001f\u007f]/g, '?');
  if (format === 'text') return (line) => write(clean(line));
  return (line) => {
    const msg = clean(line).replace(/^relay: /, '');
    const event = EVENTS.find(([re]) => re.test(msg))?.[1] ?? 'info';
    write(JSON.stringify({ time: new Date().toISOString(), event, msg }));
  };
}

/** The path a request asked for, without its query (which could carry a token). */
const pathOf = (req: IncomingMessage | undefined) => (req?.url ?? '?').split('?')[0].slice(0, 200);

/** One line for a request the relay refused. */
export function refusalLine(e: RelayError, req: IncomingMessage | undefined): string {
  return `relay: refused ${req?.method ?? '?'} ${pathOf(req)} from ${req?.socket.remoteAddress ?? '?'}: ${e.status} ${e.code}`;
}
