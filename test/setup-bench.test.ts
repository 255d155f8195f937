// The setup cost figures under XS (tools/bench/setup.ts): the device-side steps
// run under a real XS engine (the same src/ code), and each figure is measured.
import assert from 'node:assert/strict';
import { setupCosts } from '../tools/bench/setup.js';
import { ROOT } from './helpers.js';

describe('setup costs under XS', function () {
  this.timeout(300_000);

  it('measures SPAKE2+ verifier, identity key generation, roster verification and each setup message', async () => {
    const c = await setupCosts(ROOT);
    for (const k of [
      'xs_setup_spake2_verifier_respond', 'xs_setup_spake2_verifier_finish', 'xs_setup_identity_keygen', 'xs_setup_roster_verify',
      'xs_setup_message_share_p', 'xs_setup_message_confirm_p', 'xs_setup_message_config',
    ]) assert.ok(Number.isInteger(c[k]) && c[k] > 0, `${k} = ${c[k]}`);
    // sanity: respond is P-256 work (millions of units); finish is an HMAC compare
    assert.ok(c.xs_setup_spake2_verifier_respond > 100 * c.xs_setup_spake2_verifier_finish);
    // the CONFIG message includes a roster verification and the acknowledgement signature
    assert.ok(c.xs_setup_message_config > c.xs_setup_roster_verify);
  });
});
