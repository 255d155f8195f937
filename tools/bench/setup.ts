/**
 * What setup costs the doorbell's JavaScript under XS, in `compute` meter units
 * (deterministic; ~33 x86 instructions per unit, see tools/bench/xs.ts). Runs
 * tools/bench/xs-setup-entry.ts under xsnap; each figure is one step's delivery
 * minus an empty delivery, measured on a second run (the first builds noble's tables).
 *
 *   node dist/tools/bench/setup.js
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { openXs } from '../xs/run.js';

export const XS_SETUP_ENTRY = 'tools/bench/xs-setup-entry.ts';

/** Meter units per device-side setup step. */
export async function setupCosts(root: string): Promise<Record<string, number>> {
  const s = await openXs(XS_SETUP_ENTRY, { root });
  try {
    const units = async (op: string) => (await s.call(op)).meter.compute;
    const spake = async () => {
      await s.call('prepare_spake');
      const respond = await units('spake2_verifier_respond');
      await s.call('phone_spake_finish');
      return { respond, finish: await units('spake2_verifier_finish') };
    };
    const flow = async () => {
      await s.call('prepare_setup');
      const params = await units('setup_params');
      await s.call('phone_share');
      const share = await units('setup_share');
      await s.call('phone_confirm');
      const confirm = await units('setup_confirm');
      await s.call('phone_config');
      return { params, share, confirm, config: await units('setup_config') };
    };
    const twice = async <T>(f: () => Promise<T>): Promise<T> => {
      await f(); // warm-up: precomputed tables, lazy initialisation
      return f();
    };
    const noop = await units('noop');
    const sp = await twice(spake);
    const keygen = await twice(() => units('identity_keygen'));
    const verify = await twice(() => units('roster_verify'));
    const ack = await twice(() => units('roster_ack_sign'));
    const f = await twice(flow);
    const net = (n: number) => n - noop;
    return {
      xs_setup_spake2_verifier_respond: net(sp.respond),
      xs_setup_spake2_verifier_finish: net(sp.finish),
      xs_setup_spake2_verifier_total: net(sp.respond) + net(sp.finish),
      xs_setup_identity_keygen: net(keygen),
      xs_setup_roster_verify: net(verify),
      xs_setup_roster_ack_sign: net(ack),
      xs_setup_message_params: net(f.params),
      xs_setup_message_share_p: net(f.share),
      xs_setup_message_confirm_p: net(f.confirm),
      xs_setup_message_config: net(f.config),
      xs_setup_dispatch_baseline: noop,
    };
  } finally {
    await s.close();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
  const costs = await setupCosts(root);
  for (const [k, v] of Object.entries(costs)) console.log(`${k.padEnd(40)} ${String(v).padStart(12)}  (≈ ${(v * 33 / 1e6).toFixed(1)} M x86 instructions)`);
}
