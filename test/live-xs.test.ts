// Live view's core under real XS (xsnap, XS 13.3): the vector rebuilt byte for byte.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { cases, LIVE_VECTOR_DIGEST } from './xs/live-core.js';
import { ROOT } from './helpers.js';
import { casesInNodeAndXs } from './xs-cases.js';

describe('live core under XS (xsnap, XS 13.3)', function () {
  this.timeout(300_000);

  it('the digest the XS entry checks is that of test/vectors/live-v1.json', () => {
    const file = JSON.parse(fs.readFileSync(path.join(ROOT, 'test/vectors/live-v1.json'), 'utf8'));
    assert.equal(createHash('sha256').update(JSON.stringify(file)).digest('hex'), LIVE_VECTOR_DIGEST);
  });

  casesInNodeAndXs('test/xs/live-core.ts', cases);
});
