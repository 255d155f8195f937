/**
 * Every failure the core reports on purpose is a SealbellError with a stable
 * `code`, so callers (CLI, tests, the uplink) can tell one bad input from another
 * without matching message text.
 */
export class SealbellError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    // Defined, not assigned: on a board the SDK's preload freezes Error.prototype, and assigning a
    // property a frozen prototype has (`name`) throws "set name: not writable" in strict code, so
    // every SealbellError became that TypeError (seen in QEMU: a refused update reported
    // UPDATE_FAILED instead of UPDATE_ROLLED_BACK). Same own, enumerable property as before on Node.
    Object.defineProperty(this, 'name', { value: 'SealbellError', writable: true, enumerable: true, configurable: true });
    this.code = code;
  }
}

/** Throws a SealbellError unless `condition` holds. */
export function check(condition: unknown, code: string, message: string): asserts condition {
  if (!condition) throw new SealbellError(code, message);
}
