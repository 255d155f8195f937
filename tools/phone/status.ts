/**
 * `sealbell phone status`: per doorbell, the roster it last acknowledged (checked with its
 * key: the relay cannot make this up), when the relay heard it, whether a newer one is
 * pending, and the alarms of roster-sync.ts (a fork, a handover that does not arrive).
 */
import { noAckWarning } from './roster-chain.js';
import { equalBytes } from '../../src/bytes.js';
import { SealbellError } from '../../src/errors.js';
import { keyIdHex, keyIdOf } from '../../src/minisign.js';
import { parseRoster, rosterHash } from '../../src/roster/roster.js';
import { authorityAfter } from '../../src/roster/roster-store.js';
import { listDevices, readAuthorityPub } from './state.js';
import { phoneLogin } from './relay-sync.js';
import { ackedRoster, chainFrom, localBundle, notOurAuthority, type AckedRoster } from './roster-sync.js';
import { readLiveSessions, type LiveSessionRecord } from './live.js';
import type { FirmwareReport, UpdateStatus } from '../relay/updates.js';

export interface DoorbellStatus {
  deviceId: string;
  /** what the doorbell acknowledged, if the relay showed it */
  acked?: { epoch: number; hash: string; phones: string[]; at: number; authority: string };
  /** epochs signed but not yet acknowledged (this phone's, the relay's pending run) */
  pending: number[];
  /** something the owner should know */
  warnings: string[];
  /** the loud one: a fork */
  alarm?: string;
  /** the live sessions this phone asked for, newest last (a doorbell starts none it did not: signed requests) */
  live: LiveSessionRecord[];
  /** what the doorbell last told the relay it runs (unsigned: informative), and its update's state */
  firmware?: { firmware?: FirmwareReport; update?: UpdateStatus };
}

export async function phoneStatus(dir: string, deviceId?: string): Promise<DoorbellStatus[]> {
  const ids = listDevices(dir).filter((id) => !deviceId || id === deviceId);
  if (ids.length === 0) throw new SealbellError('PHONE_STATE', deviceId ? `this phone does not know doorbell ${deviceId}` : 'this phone knows no doorbell');
  const authority = readAuthorityPub(dir);
  const out: DoorbellStatus[] = [];
  for (const id of ids) {
    const s: DoorbellStatus = { deviceId: id, pending: [], warnings: [], live: readLiveSessions(dir, id) };
    out.push(s);
    let acked: AckedRoster;
    try {
      const client = await phoneLogin(dir, id);
      acked = await ackedRoster(dir, id, client);
      s.firmware = await client.firmware().catch(() => undefined);
    } catch (e) {
      s.warnings.push(noAckWarning(e));
      continue;
    }
    const held = acked.held;
    s.acked = {
      epoch: held.roster.epoch,
      hash: rosterHash(held.bytes),
      phones: held.roster.phones.map((p) => p.name),
      at: acked.at,
      authority: keyIdHex(keyIdOf(authorityAfter(held))),
    };
    const { base, run, alarms } = chainFrom(dir, acked);
    s.pending = run.map((r) => r.roster.epoch);
    if (alarms.length) s.alarm = alarms.join(' ');
    const follows = authorityAfter(base);
    if (!equalBytes(follows, authority)) s.warnings.push(notOurAuthority(id, follows, authority).message);
    const relayPending = acked.pending.map((b) => epochOf(b.bytes)).filter((e) => e > held.roster.epoch && !s.pending.includes(e));
    if (relayPending.length) s.warnings.push(`the relay has epoch ${relayPending.join(', ')} pending that does not follow on from what the doorbell acknowledged`);
    const local = localBundle(dir, id);
    const localEpoch = local ? epochOf(local.bytes) : 0;
    if (localEpoch > held.roster.epoch) {
      s.warnings.push(`this phone published roster epoch ${localEpoch}; the doorbell acknowledges only epoch ${held.roster.epoch}: until it does, a removed phone may still read new clips`);
    }
  }
  return out;
}

function epochOf(bytes: Uint8Array): number {
  try {
    return parseRoster(bytes).epoch;
  } catch {
    return 0;
  }
}

export function describeStatus(all: DoorbellStatus[]): string[] {
  const lines: string[] = [];
  for (const s of all) {
    if (s.acked) {
      const a = s.acked;
      lines.push(`doorbell ${s.deviceId}: acknowledged roster epoch ${a.epoch} (${a.hash.slice(0, 16)}…, ${a.phones.length} phone(s): ${a.phones.join(', ')}), heard by the relay ${new Date(a.at).toISOString()}`);
      lines.push(`  pending: ${s.pending.length ? `epoch ${s.pending.join(', ')}, not yet acknowledged` : 'none'}`);
    } else lines.push(`doorbell ${s.deviceId}: unknown`);
    for (const w of s.warnings) lines.push(`  warning: ${w}`);
    if (s.alarm) lines.push(`  ${s.alarm}`);
    const f = s.firmware?.firmware;
    const u = s.firmware?.update;
    lines.push(`  firmware: ${f ? `${f.version} (${f.board}), security version ${f.security}${f.trial ? ', on trial' : ''}` : 'not reported yet'}${u ? `; update to ${u.version} (security ${u.security}): ${u.state}${u.code ? ` ${u.code}` : ''}` : ''}`);
    const recent = s.live.slice(-5).reverse();
    lines.push(`  live sessions this phone asked for: ${s.live.length ? '' : 'none'}`);
    for (const l of recent) lines.push(`    ${new Date(l.time).toISOString()}  ${l.session}  ${l.frames} frame(s), ended: ${l.ended}`);
  }
  return lines;
}
