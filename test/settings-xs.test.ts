/**
 * Signed settings (src/settings) under real XS (xsnap, XS 13.3): the vector and the doorbell's
 * checks give the same results as in Node (test/xs/settings-core.ts).
 */
import { cases } from './xs/settings-core.js';
import { casesInNodeAndXs } from './xs-cases.js';

describe('signed settings under XS (xsnap, XS 13.3)', function () {
  this.timeout(300_000);
  casesInNodeAndXs('test/xs/settings-core.ts', cases);
});
