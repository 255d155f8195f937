/** A request the relay refuses: an HTTP status and a stable code, sent as `{"error":{"code","message"}}`. */
import { isSafeId } from '../../src/clip/manifest.js';

export class RelayError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'RelayError';
  }
}

/** Ids become paths and keys: anything but the manifest's id pattern is refused before it is used. */
export function requireId(value: string, what: string): string {
  if (!isSafeId(value)) {
    throw new RelayError(400, 'BAD_ID', `${what} must match [A-Za-z0-9][A-Za-z0-9_-]{0,63}`);
  }
  return value;
}
