/**
 * A doorbell's settings from the page, as `sealbell phone settings` edits them
 * (docs/settings-format.md): the account authority, unlocked with the passphrase in the page,
 * signs them (src/settings/settings.ts, the CLI's signer) with an epoch above every one in
 * sight (tools/phone/settings-core.ts); the relay passes them on; the doorbell checks them and
 * signs what it runs. What the page shows as running is only what the doorbell signed.
 */
import { SealbellError } from '../../src/errors.js';
import { decodePublicKey } from '../../src/minisign.js';
import { checkSettingsRange, encodeSettingsBundle, parseSettingsBundle, signSettings, verifySettings, type Settings } from '../../src/settings/settings.js';
import { nextSettings, pendingFromView, runsFromView, type SettingsChange } from '../../tools/phone/settings-core.js';
import { unlockAccount } from './account.js';
import type { BrowserDoorbell, BrowserPhone } from './keystore.js';
import { publishSettings, type Session } from './relay.js';

export interface SettingsStatus {
  deviceId: string;
  /** what the doorbell signed that it runs (the defaults at epoch 0) */
  runs: Settings;
  /** the newest settings in sight (what an edit starts from): runs, what waits, what this phone published */
  newest: Settings;
  /** the epoch waiting at the relay (signed by the account authority or not) */
  pending?: number;
  /** the last settings the doorbell refused, and why */
  refused?: { epoch: number; code: string; message: string };
  /** the newest epoch this phone published */
  published?: number;
}

/** The settings this phone last published, checked with the account authority it knows. */
function published(d: BrowserDoorbell, authority: Uint8Array): Settings | undefined {
  if (!d.lastSettings) return undefined;
  try {
    const b = parseSettingsBundle(d.lastSettings);
    return verifySettings(b.bytes, b.signature, authority).settings;
  } catch {
    return undefined;
  }
}

export async function settingsStatus(session: Session, phone: BrowserPhone, d: BrowserDoorbell): Promise<SettingsStatus> {
  const view = await session.settings();
  const runs = runsFromView(view, d.deviceId, d.devicePub); // SETTINGS_ACK: the relay shows what the doorbell did not sign
  const authority = decodePublicKey(phone.authorityPub).publicKey;
  const mine = published(d, authority);
  const base = nextSettings(d.deviceId, [runs, pendingFromView(view, authority), mine], {});
  return {
    deviceId: d.deviceId,
    runs,
    newest: { ...base, epoch: base.epoch - 1 },
    ...(view.pending ? { pending: view.pending.epoch } : {}),
    ...(view.refused ? { refused: { epoch: view.refused.epoch, code: view.refused.code, message: view.refused.message } } : {}),
    ...(mine ? { published: mine.epoch } : {}),
  };
}

export interface EditArgs {
  session: Session;
  phone: BrowserPhone;
  doorbell: BrowserDoorbell;
  change: Required<SettingsChange>;
  passphrase: string;
  progress?: (line: string) => void;
  /** ms to wait for the doorbell's acknowledgement */
  wait?: number;
}

/**
 * Checks the values (SETTINGS_RANGE before any passphrase work), unlocks the account, signs
 * the change on the newest settings in sight, publishes it (the relay's refusal comes back
 * with its code) and waits for the doorbell: its acknowledgement of exactly that epoch, or its
 * refusal (its code), or SETTINGS_UNCONFIRMED. `doorbell.lastSettings` is set; the caller saves the phone.
 */
export async function editSettings(a: EditArgs): Promise<{ epoch: number; status: SettingsStatus }> {
  const id = a.doorbell.deviceId;
  checkSettingsRange({ v: 1, device: id, epoch: 1, ...a.change });
  const keys = await unlockAccount(a.phone, a.passphrase, a.progress);
  const authority = keys.authority.publicKey;
  const view = await a.session.settings();
  const runs = runsFromView(view, id, a.doorbell.devicePub);
  const next = nextSettings(id, [runs, pendingFromView(view, authority), published(a.doorbell, authority)], a.change);
  a.progress?.(`signing settings epoch ${next.epoch} with the account authority…`);
  const bundle = encodeSettingsBundle(signSettings(next, keys.authority));
  await publishSettings(id, bundle);
  a.doorbell.lastSettings = bundle;
  a.progress?.(`settings epoch ${next.epoch} sent; waiting for doorbell ${id} to confirm…`);
  const until = Date.now() + (a.wait ?? 30_000);
  for (;;) {
    const status = await settingsStatus(a.session, a.phone, a.doorbell);
    if (status.runs.epoch >= next.epoch) return { epoch: next.epoch, status };
    if (status.refused?.epoch === next.epoch) {
      throw new SealbellError(status.refused.code, `doorbell ${id} refused settings epoch ${next.epoch}: ${status.refused.message}; it keeps running epoch ${status.runs.epoch}`);
    }
    if (Date.now() >= until) {
      throw new SealbellError('SETTINGS_UNCONFIRMED', `settings epoch ${next.epoch} sent, not yet confirmed by doorbell ${id} (it runs epoch ${status.runs.epoch}): it takes them when it next connects`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}
