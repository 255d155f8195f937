/**
 * Every failure the core reports on purpose is a SealbellError with a stable
 * `code`, so callers (CLI, tests, the uplink) can tell one bad input from another
 * without matching message text.
 */
export class SealbellError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'SealbellError';
    this.code = code;
  }
}

/** Throws a SealbellError unless `condition` holds. */
export function check(condition: unknown, code: string, message: string): asserts condition {
  if (!condition) throw new SealbellError(code, message);
}
