/**
 * `sealbell phone settings`: the owner edits a doorbell's clip length, pre-roll, motion zones
 * and sensitivity. The account authority signs them (docs/settings-format.md) with an epoch
 * above every one in sight; the relay passes them on; the doorbell checks them and signs what
 * it runs. What the phone reports as running is only what the doorbell signed (the relay
 * can withhold settings, never make them up), so a withheld change shows as unconfirmed.
 */
import fs from 'node:fs';
import path from 'node:path';
import { SealbellError } from '../../src/errors.js';
import { encodeSettingsBundle, parseSettingsBundle, signSettings, verifySettings, type Settings, type SignedSettings } from '../../src/settings/settings.js';
import { writeFileAtomic } from '../../hosts/node/kv-store.js';
import { idPath, relayJson } from '../relay/client-http.js';
import type { SettingsView } from '../relay/settings.js';
import { phoneLogin } from './relay-sync.js';
import { describeValues, nextSettings, pendingFromView, runsFromView, type SettingsChange } from './settings-core.js';
import { readAuthorityPub, readDevice, type AccountKeys } from './state.js';

export type { SettingsChange };

export interface SettingsReport {
  deviceId: string;
  /** what the doorbell signed that it runs (the defaults at epoch 0, which need no signature) */
  runs: Settings;
  /** waiting at the relay for the doorbell */
  pending?: number;
  /** the last settings it refused, and why */
  refused?: { epoch: number; code: string };
  /** the newest settings this phone published */
  published?: number;
}

const localFile = (dir: string, deviceId: string) => path.join(dir, 'devices', deviceId, 'settings.sbt');

/** `--zones`: rows of A–Z and '.' separated by '/', or "off". */
export function parseZonesArg(text: string): string[] | null {
  if (text === 'off') return null;
  return text.split('/');
}

/** The newest settings this phone published for the doorbell, checked with the account authority. */
function readPublished(dir: string, deviceId: string, authority: Uint8Array): SignedSettings | undefined {
  let bundle: Uint8Array;
  try {
    bundle = new Uint8Array(fs.readFileSync(localFile(dir, deviceId)));
  } catch {
    return undefined;
  }
  const b = parseSettingsBundle(bundle);
  return verifySettings(b.bytes, b.signature, authority);
}

/** What the doorbell runs, from its acknowledgement (SETTINGS_ACK when the relay shows one it did not sign). */
async function fetchView(dir: string, deviceId: string): Promise<{ view: SettingsView; runs: Settings }> {
  const view = await (await phoneLogin(dir, deviceId)).settings();
  return { view, runs: runsFromView(view, deviceId, readDevice(dir, deviceId).publicKeyText) };
}

export async function phoneSettingsShow(dir: string, deviceId: string): Promise<SettingsReport> {
  const { view, runs } = await fetchView(dir, deviceId);
  const published = readPublished(dir, deviceId, readAuthorityPub(dir));
  return {
    deviceId,
    runs,
    ...(view.pending ? { pending: view.pending.epoch } : {}),
    ...(view.refused ? { refused: { epoch: view.refused.epoch, code: view.refused.code } } : {}),
    ...(published ? { published: published.settings.epoch } : {}),
  };
}

export interface PhoneSettingsArgs {
  dir: string;
  deviceId: string;
  account: AccountKeys;
  change: SettingsChange;
  /** ms to wait for the doorbell's acknowledgement (0: do not wait) */
  wait?: number;
  /** between polls of the relay, ms */
  poll?: number;
}

/**
 * Signs the doorbell's newest settings with `change` applied, epoch above every one in sight
 * (what it runs, what waits, what this phone published), publishes them, and waits for the
 * doorbell to run them: SETTINGS_UNCONFIRMED when it does not in time, the doorbell's code
 * when it refused them.
 */
export async function phoneSettingsEdit(a: PhoneSettingsArgs): Promise<{ signed: SignedSettings; report: SettingsReport }> {
  const authority = a.account.authority.publicKey;
  const { view, runs } = await fetchView(a.dir, a.deviceId);
  const pending = pendingFromView(view, authority);
  const published = readPublished(a.dir, a.deviceId, authority)?.settings;
  const next = nextSettings(a.deviceId, [runs, pending, published], a.change);
  const signed = signSettings(next, a.account.authority);
  const bundle = encodeSettingsBundle(signed);
  const d = readDevice(a.dir, a.deviceId);
  await relayJson(d.relayUrl, `v1/devices/${idPath(a.deviceId)}/settings`, { method: 'PUT', body: bundle });
  const dd = path.dirname(localFile(a.dir, a.deviceId));
  writeFileAtomic(localFile(a.dir, a.deviceId), bundle);
  // copies for `minisign -Vm settings.json -p authority.pub`
  writeFileAtomic(path.join(dd, 'settings.json'), signed.bytes);
  writeFileAtomic(path.join(dd, 'settings.json.minisig'), signed.signature);
  const until = Date.now() + (a.wait ?? 30_000);
  for (;;) {
    const report = await phoneSettingsShow(a.dir, a.deviceId);
    if (report.runs.epoch >= next.epoch) return { signed, report };
    if (report.refused?.epoch === next.epoch) throw new SealbellError(report.refused.code, `doorbell ${a.deviceId} refused settings epoch ${next.epoch} (${report.refused.code}); it runs epoch ${report.runs.epoch}`);
    if (Date.now() >= until) {
      throw new SealbellError('SETTINGS_UNCONFIRMED', `settings epoch ${next.epoch} published, not yet confirmed by doorbell ${a.deviceId} (it runs epoch ${report.runs.epoch}): it takes them when it next connects; check with phone settings --show`);
    }
    await new Promise((r) => setTimeout(r, a.poll ?? 250));
  }
}

/** Lines for the owner. */
export function describeSettings(r: SettingsReport): string[] {
  const s = r.runs;
  const lines = [
    `doorbell ${r.deviceId} runs settings epoch ${s.epoch}${s.epoch === 0 ? ' (defaults)' : ' (signed by the doorbell)'}: ${describeValues(s)}`,
  ];
  if (r.pending !== undefined) lines.push(`  epoch ${r.pending} waits at the relay for the doorbell`);
  if (r.refused) lines.push(`  the doorbell refused epoch ${r.refused.epoch}: ${r.refused.code}`);
  if (r.published !== undefined && r.published > s.epoch && r.refused?.epoch !== r.published) {
    lines.push(`  NOT CONFIRMED: this phone published epoch ${r.published}, the doorbell has not confirmed it (offline, or the relay withholds it)`);
  }
  return lines;
}
