/**
 * SealbellError where the built-ins are frozen, as in a Moddable device image (the SDK
 * preloads and freezes them): Error.prototype.name is read-only there, and the error must still
 * be made (the QEMU image threw `TypeError: set name: not writable` for every SealbellError).
 */
import assert from 'node:assert/strict';
import { SealbellError } from '../src/errors.js';

describe('SealbellError', () => {
  it('is made, with its name and code, when Error.prototype.name is read-only (frozen built-ins)', () => {
    const original = Object.getOwnPropertyDescriptor(Error.prototype, 'name')!;
    Object.defineProperty(Error.prototype, 'name', { ...original, writable: false });
    try {
      const e = new SealbellError('SETUP_MALFORMED', 'malformed setup message');
      assert.equal(e.name, 'SealbellError');
      assert.equal(e.code, 'SETUP_MALFORMED');
      assert.equal(e.message, 'malformed setup message');
      assert.ok(e instanceof Error);
      assert.equal(String(e), 'SealbellError: malformed setup message');
    } finally {
      Object.defineProperty(Error.prototype, 'name', original);
    }
  });

  it('has no own name property (nothing extra in JSON or deep comparisons)', () => {
    assert.equal(Object.hasOwn(new SealbellError('X', 'y'), 'name'), false);
  });
});
