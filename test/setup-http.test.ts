/**
 * The setup endpoint's HTTP statuses (src/app/setup-http.ts): an ERROR reply about the request
 * is a 400 (413 when too large), one about the doorbell a 500, each with the ERROR message as the
 * body; a SetupMode that throws (it never should) is a 500 the host is told about. The QEMU image
 * answered garbage with a bare 500 (tools/qemu-e2e.ts now sends garbage before setup).
 */
import assert from 'node:assert/strict';
import { errorStatus, setupHttpHandler } from '../src/app/setup-http.js';
import { parseMessage } from '../src/setup/messages.js';
import { SealbellError } from '../src/errors.js';
import type { SetupMode } from '../src/setup/setup-mode.js';
import type { HttpHead } from '../src/net/http-server.js';
import { freshDevice } from './setup-fixtures.js';

const post = (length: number): HttpHead => ({ method: 'POST', path: '/setup', headers: new Map(), contentLength: length });

describe('setup endpoint statuses', () => {
  it('answers garbage with 400 and an ERROR SETUP_MALFORMED body, and setup stays open', async () => {
    const d = await freshDevice('setup-http-garbage');
    const h = setupHttpHandler({ mode: d.mode, now: () => d.now });
    for (const body of [Uint8Array.of(1, 2, 3), new Uint8Array(0), new TextEncoder().encode('hello, doorbell\r\n')]) {
      assert.equal(h.check(post(body.length)), undefined);
      const r = h.respond(post(body.length), body);
      assert.equal(r.status, 400);
      assert.equal(r.headers?.['content-type'], 'application/octet-stream');
      const m = parseMessage(r.body!);
      assert.equal(m.type === 'ERROR' && m.code, 'SETUP_MALFORMED');
    }
    assert.equal(d.mode.state, 'open');
  });

  it('maps ERROR codes: the request 400, too large 413, the doorbell 500', () => {
    assert.equal(errorStatus(new SealbellError('SETUP_UNEXPECTED', 'x')), 400);
    assert.equal(errorStatus(new SealbellError('SETUP_WRONG_CODE', 'x')), 400);
    assert.equal(errorStatus(new SealbellError('SETUP_TOO_LARGE', 'x')), 413);
    assert.equal(errorStatus(new SealbellError('SETUP_INTERNAL', 'x')), 500);
    assert.equal(errorStatus(new SealbellError('SETUP_STORE', 'x')), 500);
  });

  it('tells the host when SetupMode throws, and answers 500 without details', () => {
    const failures: unknown[] = [];
    const mode = { receive: () => { throw new TypeError('boom'); } } as unknown as SetupMode;
    const h = setupHttpHandler({ mode, now: () => 0, onFailure: (e) => failures.push(e) });
    const r = h.respond(post(1), Uint8Array.of(0));
    assert.equal(r.status, 500);
    assert.equal(r.body, undefined);
    assert.equal((failures[0] as Error).message, 'boom');
  });
});
