/**
 * Firmware updates (src/update) under real XS (xsnap, XS 13.3): the documents' vectors and the
 * update state machine give the same results as in Node (test/xs/update-core.ts).
 */
import { cases } from './xs/update-core.js';
import { casesInNodeAndXs } from './xs-cases.js';

describe('firmware updates under XS (xsnap, XS 13.3)', function () {
  this.timeout(300_000);
  casesInNodeAndXs('test/xs/update-core.ts', cases);
});
