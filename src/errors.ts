/**
 * Every failure the core reports on purpose is a SealbellError with a stable
 * `code`, so callers (CLI, tests, the uplink) can tell one bad input from another
 * without matching message text.
 */
export class SealbellError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }

  /**
   * On the prototype, not `this.name = …` in the constructor: a Moddable device image freezes
   * the built-ins, so Error.prototype.name is read-only there, and assigning over an inherited
   * read-only property throws in strict code (the "override mistake"). On the QEMU image every
   * `new SealbellError` threw `TypeError: set name: not writable` instead, e.g. the setup
   * endpoint's answer to a malformed message (a bare 500).
   */
  override get name(): string {
    return 'SealbellError';
  }
}

/** Throws a SealbellError unless `condition` holds. */
export function check(condition: unknown, code: string, message: string): asserts condition {
  if (!condition) throw new SealbellError(code, message);
}
