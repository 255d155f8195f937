/**
 * What a roster update costs the doorbell's JavaScript under XS, in `compute` meter units
 * (deterministic; ~33 x86 instructions per unit, see tools/bench/xs.ts): taking a successor,
 * taking an authority handover (a revocation), a run of both, and the acknowledgement signed
 * afterwards. Runs tools/bench/xs-roster-entry.ts under xsnap; each figure is one delivery
 * minus an empty one, measured on a second run (the first builds noble's tables).
 *
 *   node dist/tools/bench/roster.js
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { openXs } from '../xs/run.js';

export const XS_ROSTER_ENTRY = 'tools/bench/xs-roster-entry.ts';

export async function rosterCosts(root: string): Promise<Record<string, number>> {
  const s = await openXs(XS_ROSTER_ENTRY, { root });
  try {
    const units = async (op: string) => (await s.call(op)).meter.compute;
    const update = async (prepare: string) => {
      await s.call(prepare);
      return { update: await units('roster_update'), ack: await units('roster_ack') };
    };
    const twice = async <T>(f: () => Promise<T>): Promise<T> => {
      await f(); // warm-up: precomputed tables, lazy initialisation
      return f();
    };
    const noop = await units('noop');
    const net = (n: number) => n - noop;
    const succ = await twice(() => update('prepare_successor'));
    const hand = await twice(() => update('prepare_handover'));
    const run = await twice(() => update('prepare_handover_run'));
    return {
      xs_roster_accept_successor: net(succ.update),
      xs_roster_accept_handover: net(hand.update),
      xs_roster_accept_run_handover_and_successor: net(run.update),
      xs_roster_ack_sign: net(succ.ack),
      xs_roster_dispatch_baseline: noop,
    };
  } finally {
    await s.close();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
  const costs = await rosterCosts(root);
  for (const [k, v] of Object.entries(costs)) console.log(`${k.padEnd(44)} ${String(v).padStart(12)}  (≈ ${(v * 33 / 1e6).toFixed(1)} M x86 instructions)`);
}
