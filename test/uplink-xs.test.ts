/**
 * The uplink core (spool, uplink, wire format) under real XS (xsnap, XS 13.3): the
 * same cases as in Node, and the relay ends up with the same bytes.
 */
import { cases } from './xs/uplink-core.js';
import { casesInNodeAndXs } from './xs-cases.js';

describe('uplink core under XS (xsnap, XS 13.3)', function () {
  this.timeout(300_000);
  casesInNodeAndXs('test/xs/uplink-core.ts', cases, 'the same cases pass under XS, with byte-identical results');
});
