/** `sealbell phone …`: the owner's phone, as a command. Its state lives in one folder (--dir). */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { SealbellError } from '../../src/errors.js';
import { parseSetupCode } from '../../src/setup/setup-code.js';
import { MAX_ATTEMPTS } from '../../src/setup/protocol.js';
import { readHiddenLine, readSecret, typingAtTerminal } from '../secret-input.js';
import { describeFailure } from '../cli-errors.js';
import { portFree, portNumber, positiveInt, untilStopped, UsageError } from '../cli-args.js';
import { startPhoneServer } from '../web/phone-serve.js';
import { phoneInitAsync } from './init.js';
import { phoneSetup } from './setup.js';
import { enrollFromRelay, phoneLogin, pqUpgradeOnRelay, revokeOnRelay, unlockCurrentAccount } from './relay-sync.js';
import { confirmUpdates, describeConfirmations, type Confirmation, type WaitOptions } from './roster-sync.js';
import { describeStatus, phoneStatus } from './status.js';
import { isUnreachable, phoneClips, phoneFetch, phoneWatch, reasonOf } from './clips.js';
import type { ChainNotice } from './clip-chain.js';
import { registerDoorbell, setUpHere } from './register.js';
import { normalizePassphrase } from './escrow.js';
import type { AccountKeys } from './state.js';
import { phoneLive } from './live.js';
import { remuxFile } from './remux.js';
import { phoneShare } from './share.js';
import { phoneFirmware, phoneUpdate } from './update.js';
import { phoneDeleteClips, phoneSetRetention } from './owner-requests.js';
import { describeSettings, parseZonesArg, phoneSettingsEdit, phoneSettingsShow, type SettingsChange } from './settings.js';
import { readCaCertificate } from '../tls-files.js';
import { listDevices } from './state.js';
import { checkRelayCa } from '../../src/setup/relay-ca.js';

export const PHONE_USAGE = `
sealbell phone <command> [--dir DIR] [options]      (DIR: this phone's keys and state, default sealbell-phone)
  init     make the account: shows the 12-word passphrase once; writes the escrow
             [--name NAME] [--pq: post-quantum keys (mlkem768x25519, age1pq1…) for this
             phone and the account; phones enrolled later follow. Such clips open with
             age ≥ 1.3 and typage ≥ 0.3, not Debian's age 1.1]
  setup    set up a doorbell in setup mode, then register it on the relay
             --endpoint URL --code CODE (digits or QR text) --ssid SSID --relay URL
             [--relay-ca FILE: the CA certificate (PEM) the doorbell alone trusts for an https
             relay, e.g. a self-hosted relay's own; without it, the public CAs]
             Secrets, each from a file, the environment, or a line of stdin in this order:
             passphrase (--passphrase-file, $SEALBELL_PASSPHRASE), relay admin token
             (--admin-token-file, $SEALBELL_ADMIN_TOKEN), Wi-Fi password (--wifi-password-file,
             $SEALBELL_WIFI_PASSWORD). On a terminal each is asked for and not shown.
  register finish a setup whose relay step failed (the relay was down): register the doorbells
             this phone set up on their relay and upload the escrow; safe to repeat
             [--device ID]; passphrase and admin token as for setup
  enroll   join this phone to the account with the passphrase alone
             --relay URL --name NAME; passphrase: --passphrase-file F, $SEALBELL_PASSPHRASE, or stdin
             [--relay-ca FILE: the CA (PEM) of a relay with a private certificate, as at setup]
             [--wait S: how long to wait for each doorbell to confirm, default 30]
  pq-upgrade  move this phone (and, run first on the phone that made the account, the account)
             to post-quantum keys: signed roster updates through the relay. Phones not yet
             moved get no new clips until they run it too. Passphrase as for setup.
  revoke   remove a phone from every doorbell's roster (a signed update through the relay) and
             rotate the account: shows the NEW passphrase once (the old one opens nothing after)
             --phone NAME [--device ID] [--wait S as for enroll]; passphrase as for setup
  status   per doorbell: the roster it acknowledged, when, what is pending; fork alarms
             [--device ID]
  update   install a signed firmware release on a doorbell: the account authority authorizes it,
             the relay passes it on; the doorbell checks both signatures, its board, the image
             and that the security version does not go down
             --device ID RELEASE.minisig IMAGE; passphrase as for setup
  firmware each doorbell's firmware and security version, and its update's state [--device ID]
  settings a doorbell's clip length, pre-roll, motion zones and sensitivity, signed by the
             account authority (the relay cannot change them) --device ID
             [--clip-seconds S (2–60)] [--preroll S (0–10)] [--zones ROWS: rows of zone letters
             A–Z or '.' (masked) joined by '/', e.g. ..../AABB/AABB, or off] [--sensitivity N
             (1–100)] [--wait S, default 30]; passphrase as for setup. [--show]: what the
             doorbell signed that it runs, what waits, what it refused (no passphrase)
  clips    list the clips of this phone's doorbells
  retention  how long the relay keeps a doorbell's clips (a request signed by the account
             authority; the relay deletes older clips, and the oldest beyond the size)
             --device ID [--days N] [--max-mb M]; passphrase as for setup
  delete   delete clips at the relay (signed by the account authority; phones do not report
             them as hidden)   --device ID <clip id>…; passphrase as for setup
  fetch    download a clip, check it, decrypt it and write the video (Matroska, seekable: with
             Duration and Cues; mode 0600) <clip id> --out FILE.mkv [--force: overwrite FILE]
             [--history: also try the account history key, which opens clips from before this
             phone joined; asks for the passphrase]
  remux    rewrite a decrypted clip as a seekable file; a clip cut short (age -d of an
             incomplete clip) keeps every whole frame   <IN.mkv> --out FILE.mkv
  share    hand one clip to someone: its file key re-wrapped for them alone, in a bundle
             (clip .age, manifest, .minisig, device.pub) that age -d and minisign -V check
             <clip id | CLIP.age> --to age1…RECIPIENT | --passphrase [--out DIR, default
             share-<clip id>]. The share passphrase (not the account's!) comes from
             --share-passphrase-file F, $SEALBELL_SHARE_PASSPHRASE or a line of stdin.
  watch    fetch every new clip as it arrives (Ctrl-C to stop); when the relay goes away it
             says so and reconnects. A press or motion shows at once as a line ("Front door —
             someone rang, 17:02") from the doorbell's sealed, signed event notice, its poster
             frame written to POSTERS/<clip>.jpg; a forged, replayed or stale one is refused
             with its code   [--device ID] [--name NAME: the doorbell's name]
             [--posters DIR, default DIR/events]
  live     watch the doorbell live: decrypted frames into a file ffprobe reads
             --seconds S --out FILE.mkv|.mjpeg [--device ID]
  serve    the phone web app for a self-hosted setup: http://127.0.0.1:P/app/, passing the
             relay's API through (Ctrl-C to stop); the app enrolls with the passphrase and keeps
             its keys in the browser   --relay URL [--port 8090] [--app DIR: a built, signed app]
`;

/** --wait S: how long to wait for each doorbell's acknowledgement; progress on stderr (stdout stays the result). */
function waitOptions(seconds: string | undefined): WaitOptions | undefined {
  const s = Number(seconds ?? '30');
  if (!Number.isFinite(s) || s < 0 || s > 3600) throw new UsageError('--wait must be 0 to 3600 seconds');
  return { timeoutMs: s * 1000, progress: (line) => process.stderr.write(line + '\n') };
}

/** Prints each doorbell's confirmation; non-zero exit (ROSTER_UNCONFIRMED / ROSTER_FORK) unless every one confirmed. */
function report(c: Confirmation[], risk: string): void {
  const { lines, ok } = describeConfirmations(c, risk);
  for (const l of lines) console.log(l);
  if (ok) return;
  const fork = c.some((x) => x.outcome.state === 'fork');
  throw new SealbellError(fork ? 'ROSTER_FORK' : 'ROSTER_UNCONFIRMED', fork ? 'ALARM: a doorbell\'s roster is forked (see above)' : 'published, not yet confirmed by every doorbell (see above): run `sealbell phone status` later');
}

/** The passphrase unlocks the account keys: from --passphrase-file, $SEALBELL_PASSPHRASE or stdin. */
const readPassphrase = (file: string | undefined) => readSecret({ file, env: 'SEALBELL_PASSPHRASE', what: 'passphrase' });
const readAdminToken = (file: string | undefined) => readSecret({ file, env: 'SEALBELL_ADMIN_TOKEN', what: 'relay admin token' });

/** Progress and connection news: on stderr, so stdout stays the command's answer. */
const progress = (line: string) => process.stderr.write(`${line}\n`);

/** The account keys from the passphrase; scrypt takes seconds, so say so first. */
async function unlock(dir: string, passphrase: string): Promise<AccountKeys> {
  progress('opening the escrow (scrypt, a few seconds)…');
  return unlockCurrentAccount(dir, passphrase);
}

/** On a terminal, the owner types the new passphrase back before anything is written. */
async function confirmWrittenDown(passphrase: string): Promise<void> {
  console.log('Write this passphrase down; it is shown only now and is the only way to add a phone:\n');
  console.log(`    ${passphrase}\n`);
  if (!typingAtTerminal()) return;
  for (let left = 3; ; ) {
    const typed = await readHiddenLine('Type it back to confirm you wrote it down (not shown): ');
    if (typed === undefined) throw new SealbellError('CANCELLED', 'cancelled; nothing was written');
    let same = false;
    try {
      same = normalizePassphrase(typed) === passphrase;
    } catch {
      // a typo: not the same
    }
    if (same) return;
    if (--left === 0) throw new SealbellError('PASSPHRASE_MISMATCH', 'that is not the passphrase shown; nothing was written: run phone init again');
    progress(`that is not the passphrase shown above; ${left} ${left === 1 ? 'try' : 'tries'} left`);
  }
}

/** Every command but init and enroll works on a phone folder that exists. */
function wholeNumber(text: string, flag: string, min: number, max: number): number {
  const n = Number(text);
  if (!/^[0-9]+$/.test(text) || n < min || n > max) throw new UsageError(`${flag} must be a whole number from ${min} to ${max}`);
  return n;
}

function existingDir(dir: string): string {
  if (!fs.existsSync(dir)) throw new SealbellError('NO_SUCH_DIR', `no such folder: ${dir} (give this phone's folder with --dir)`);
  return dir;
}

/** Registers what this phone set up; a relay it cannot reach is reported with the command that finishes the job. */
async function register(dir: string, ids: string[], adminToken: string, account: AccountKeys): Promise<void> {
  for (const id of ids) {
    try {
      const r = await registerDoorbell({ dir, deviceId: id, adminToken, account });
      console.log(`doorbell ${id}: ${r.already ? 'already registered on' : 'registered on'} ${r.relayUrl}; escrow uploaded`);
    } catch (e) {
      if (!isUnreachable(e)) throw e;
      throw new SealbellError(
        'RELAY_UNREACHABLE',
        `doorbell ${id} is set up but not registered: cannot reach the relay (${reasonOf(e)}). ` +
          `When the relay is up, finish with: sealbell phone register --dir ${dir} --device ${id}`,
      );
    }
  }
}

/** Where `fetch` writes: Matroska is what the clip holds, so the name says .mkv. */
function fetchOutput(out: string, force: boolean | undefined): string {
  const ext = path.extname(out);
  if (ext === '') out += '.mkv';
  else if (ext.toLowerCase() !== '.mkv') throw new SealbellError('OUT_FORMAT', `a clip is a Matroska video: name the output .mkv, not ${ext}`);
  if (fs.existsSync(out) && !force) throw new SealbellError('OUT_EXISTS', `${out} already exists: choose another name, or --force to overwrite it`);
  return out;
}

const common = { dir: { type: 'string' as const, default: 'sealbell-phone' } };

export async function phoneCommand(argv: string[]): Promise<void> {
  const [sub, ...args] = argv;
  const need = (value: string | undefined, flag: string): string => {
    if (!value) throw new UsageError(`phone ${sub} needs ${flag}`);
    return value;
  };
  switch (sub) {
    case 'init': {
      const { values } = parseArgs({ args, options: { ...common, name: { type: 'string', default: 'phone 1' }, pq: { type: 'boolean', default: false } } });
      const r = await phoneInitAsync(values.dir!, { name: values.name, pq: values.pq, confirm: confirmWrittenDown, log: progress });
      console.log(`account made in ${values.dir}`);
      console.log(`this phone's age recipient: ${r.recipient}`);
      console.log(`escrow (account keys sealed to the passphrase): ${r.escrowPath}`);
      return;
    }
    case 'setup': {
      const { values } = parseArgs({
        args,
        options: {
          ...common,
          endpoint: { type: 'string' },
          code: { type: 'string' },
          ssid: { type: 'string' },
          relay: { type: 'string' },
          'relay-ca': { type: 'string' },
          'wifi-password-file': { type: 'string' },
          'admin-token-file': { type: 'string' },
          'passphrase-file': { type: 'string' },
        },
      });
      const endpoint = need(values.endpoint, '--endpoint URL');
      const code = need(values.code, '--code CODE');
      const ssid = need(values.ssid, '--ssid SSID');
      const relayUrl = need(values.relay, '--relay URL');
      // the CA the doorbell will trust for its relay (checked before anything is asked for)
      const relayCa = values['relay-ca'] === undefined ? undefined : readCaCertificate(values['relay-ca'], 'relay CA certificate');
      if (relayCa) checkRelayCa(relayCa.der, relayUrl);
      // A typo in the code (check digit) is caught here, before the slow passphrase step.
      parseSetupCode(code);
      existingDir(values.dir!);
      const passphrase = await readPassphrase(values['passphrase-file']);
      const adminToken = await readAdminToken(values['admin-token-file']);
      const password = await readSecret({ file: values['wifi-password-file'], env: 'SEALBELL_WIFI_PASSWORD', what: 'Wi-Fi password' });
      const account = await unlock(values.dir!, passphrase);
      progress('setting up the doorbell (SPAKE2+ with the setup code)…');
      let outcome;
      try {
        outcome = await phoneSetup({ dir: values.dir!, endpoint, code, wifi: { ssid, password }, relayUrl, relayCa, account });
      } catch (e) {
        if (e instanceof SealbellError && e.code === 'SETUP_WRONG_CODE') {
          throw new SealbellError(e.code, `${e.message} The doorbell allows ${MAX_ATTEMPTS} wrong codes in all before it locks (a long press on its button reopens it).`);
        }
        throw e;
      }
      console.log(`doorbell ${outcome.deviceId} set up; it holds roster epoch ${outcome.roster.roster.epoch} and signed for it`);
      await register(values.dir!, [outcome.deviceId], adminToken, account);
      return;
    }
    case 'register': {
      const { values } = parseArgs({ args, options: { ...common, device: { type: 'string' }, 'admin-token-file': { type: 'string' }, 'passphrase-file': { type: 'string' } } });
      const ids = setUpHere(existingDir(values.dir!), values.device);
      const passphrase = await readPassphrase(values['passphrase-file']);
      const adminToken = await readAdminToken(values['admin-token-file']);
      await register(values.dir!, ids, adminToken, await unlock(values.dir!, passphrase));
      return;
    }
    case 'enroll': {
      const { values } = parseArgs({ args, options: { ...common, relay: { type: 'string' }, 'relay-ca': { type: 'string' }, name: { type: 'string' }, 'passphrase-file': { type: 'string' }, wait: { type: 'string', default: '30' } } });
      const relay = need(values.relay, '--relay URL');
      const name = need(values.name, '--name NAME');
      const relayCa = values['relay-ca'] === undefined ? undefined : readCaCertificate(values['relay-ca'], 'relay CA certificate').pem;
      const passphrase = await readPassphrase(values['passphrase-file']);
      const r = await enrollFromRelay({ dir: values.dir!, relay, relayCa, passphrase, name, wait: waitOptions(values.wait), log: progress });
      for (const a of r.alarms ?? []) console.error(a);
      console.log(`enrolled as "${name}" (${r.recipient}); roster updates published for ${r.updates.length} doorbell(s): ${r.updates.map((u) => `${u.deviceId} epoch ${u.roster.roster.epoch}`).join(', ')}`);
      report(r.confirmations ?? [], 'this phone is not in its roster yet and cannot open its new clips');
      return;
    }
    case 'revoke': {
      const { values } = parseArgs({ args, options: { ...common, phone: { type: 'string' }, device: { type: 'string' }, 'passphrase-file': { type: 'string' }, wait: { type: 'string', default: '30' } } });
      const phone = need(values.phone, '--phone NAME');
      const wait = waitOptions(values.wait);
      existingDir(values.dir!);
      const passphrase = await readPassphrase(values['passphrase-file']);
      const account = await unlock(values.dir!, passphrase);
      const showPassphrase = (fresh: string) => {
        console.log(`the account has a NEW passphrase; the old one opens nothing from now on. Write it down; it is shown only now:\n`);
        console.log(`    ${fresh}\n`);
      };
      const r = await revokeOnRelay({ dir: values.dir!, phone, deviceId: values.device, account, passphrase, onPassphrase: showPassphrase });
      for (const a of r.alarms) console.error(a);
      for (const u of r.updates) console.log(`doorbell ${u.deviceId}: roster epoch ${u.roster.roster.epoch} published${r.removedFrom.includes(u.deviceId) ? ` without "${phone}"` : ''}, handing the account to a new authority`);
      console.log(r.oldEscrow === undefined ? 'the relay dropped the old escrow' : `warning: the relay did not drop the old escrow (${r.oldEscrow}); it opens only the old account keys, which no doorbell takes once it confirms`);
      report(await confirmUpdates(values.dir!, r.updates, (id) => phoneLogin(values.dir!, id), wait!), 'the removed phone may still read new clips');
      return;
    }
    case 'status': {
      const { values } = parseArgs({ args, options: { ...common, device: { type: 'string' } } });
      const all = await phoneStatus(existingDir(values.dir!), values.device);
      for (const l of describeStatus(all)) console.log(l);
      const alarms = all.filter((s) => s.alarm);
      if (alarms.length) throw new SealbellError('ROSTER_FORK', `ALARM: the roster of doorbell ${alarms.map((s) => s.deviceId).join(', ')} is forked (see above)`);
      return;
    }
    case 'pq-upgrade': {
      const { values } = parseArgs({ args, options: { ...common, 'passphrase-file': { type: 'string' } } });
      const passphrase = await readPassphrase(values['passphrase-file']);
      progress('opening the escrow (scrypt, a few seconds)…');
      const r = await pqUpgradeOnRelay({ dir: existingDir(values.dir!), passphrase });
      if (r.escrow) console.log('the account moved to post-quantum: new history key, escrow replaced on the relay');
      for (const u of r.updates) console.log(`doorbell ${u.deviceId}: roster epoch ${u.roster.roster.epoch} published, sealing post-quantum to ${u.roster.roster.phones.map((p) => `"${p.name}"`).join(', ')}`);
      if (r.waiting.length) console.log(`still classic, no new clips until each runs phone pq-upgrade: ${r.waiting.map((n) => `"${n}"`).join(', ')}`);
      console.log(`this phone's post-quantum recipient: ${r.recipient}`);
      return;
    }
    case 'update': {
      const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { ...common, device: { type: 'string' }, 'passphrase-file': { type: 'string' } } });
      if (positionals.length !== 2) throw new UsageError('phone update needs the release (its .minisig or manifest) and the image');
      const deviceId = need(values.device, '--device ID');
      const account = await unlock(existingDir(values.dir!), await readPassphrase(values['passphrase-file']));
      const r = await phoneUpdate({ dir: values.dir!, deviceId, release: positionals[0], image: positionals[1], account });
      console.log(`doorbell ${deviceId}: release ${r.manifest.version} (security ${r.manifest.security}) authorized and queued on the relay; the doorbell installs it when it next connects`);
      return;
    }
    case 'retention': {
      const { values } = parseArgs({ args, options: { ...common, device: { type: 'string' }, days: { type: 'string' }, 'max-mb': { type: 'string' }, 'passphrase-file': { type: 'string' } } });
      const deviceId = need(values.device, '--device ID');
      const days = values.days === undefined ? null : wholeNumber(values.days, '--days', 1, 36_500);
      const maxMb = values['max-mb'] === undefined ? null : wholeNumber(values['max-mb'], '--max-mb', 1, 1 << 30);
      if (days === null && maxMb === null) throw new UsageError('phone retention needs --days N, --max-mb M or both');
      const account = await unlock(existingDir(values.dir!), await readPassphrase(values['passphrase-file']));
      const r = await phoneSetRetention({ dir: values.dir!, deviceId, account, days, maxBytes: maxMb === null ? null : maxMb * 1024 * 1024 });
      console.log(`doorbell ${deviceId}: the relay keeps clips ${days === null ? 'of any age' : `for ${days} day(s)`}${maxMb === null ? '' : `, ${maxMb} MiB at most`} (signed request epoch ${r.epoch})`);
      return;
    }
    case 'delete': {
      const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { ...common, device: { type: 'string' }, 'passphrase-file': { type: 'string' } } });
      const deviceId = need(values.device, '--device ID');
      if (positionals.length === 0) throw new UsageError('phone delete needs the ids of the clips to delete');
      const account = await unlock(existingDir(values.dir!), await readPassphrase(values['passphrase-file']));
      const r = await phoneDeleteClips({ dir: values.dir!, deviceId, account, clips: positionals });
      console.log(`doorbell ${deviceId}: ${r.deleted.length} clip(s) deleted at the relay, ${r.bytes} bytes (signed request epoch ${r.epoch})`);
      if (r.unknown.length) console.log(`not at the relay: ${r.unknown.join(', ')}`);
      return;
    }
    case 'firmware': {
      const { values } = parseArgs({ args, options: { ...common, device: { type: 'string' } } });
      for (const d of await phoneFirmware(values.dir!, values.device)) {
        const f = d.firmware;
        const runs = f ? `firmware ${f.version} (${f.board}), security ${f.security}${f.trial ? ', on trial' : ''}, as of ${new Date(f.at).toISOString()}` : 'firmware not reported yet';
        const u = d.update;
        const update = u ? `; update to ${u.version} (security ${u.security}): ${u.state}${u.code ? ` ${u.code}` : ''}` : '';
        console.log(`doorbell ${d.deviceId}: ${runs}${update}`);
      }
      return;
    }
    case 'settings': {
      const { values } = parseArgs({
        args,
        options: {
          ...common,
          device: { type: 'string' },
          'clip-seconds': { type: 'string' },
          preroll: { type: 'string' },
          zones: { type: 'string' },
          sensitivity: { type: 'string' },
          show: { type: 'boolean', default: false },
          wait: { type: 'string' },
          'passphrase-file': { type: 'string' },
        },
      });
      const deviceId = need(values.device, '--device ID');
      const whole = (v: string | undefined, flag: string): number | undefined => {
        if (v === undefined) return undefined;
        if (!/^\d{1,6}$/.test(v)) throw new UsageError(`${flag} must be a whole number`);
        return Number(v);
      };
      const change: SettingsChange = {};
      const clip = whole(values['clip-seconds'], '--clip-seconds');
      const preroll = whole(values.preroll, '--preroll');
      const sensitivity = whole(values.sensitivity, '--sensitivity');
      if (clip !== undefined) change.clipSeconds = clip;
      if (preroll !== undefined) change.prerollSeconds = preroll;
      if (sensitivity !== undefined) change.sensitivity = sensitivity;
      if (values.zones !== undefined) change.zones = parseZonesArg(values.zones);
      existingDir(values.dir!);
      if (values.show || Object.keys(change).length === 0) {
        if (!values.show) throw new UsageError('phone settings needs a change (--clip-seconds, --preroll, --zones, --sensitivity) or --show');
        for (const l of describeSettings(await phoneSettingsShow(values.dir!, deviceId))) console.log(l);
        return;
      }
      const wait = waitOptions(values.wait)!.timeoutMs;
      const account = await unlock(values.dir!, await readPassphrase(values['passphrase-file']));
      const r = await phoneSettingsEdit({ dir: values.dir!, deviceId, account, change, wait });
      console.log(`settings epoch ${r.signed.settings.epoch} signed and published; the doorbell confirmed it runs them`);
      for (const l of describeSettings(r.report)) console.log(l);
      return;
    }
    case 'clips': {
      const { values } = parseArgs({ args, options: { ...common, device: { type: 'string' } } });
      const listed = await phoneClips(existingDir(values.dir!), values.device);
      // One doorbell: its error is the command's. Several: each says its own, the others are listed.
      if (listed.length === 1 && listed[0].error) throw listed[0].error;
      for (const { deviceId, clips, notices, error } of listed) {
        if (error) {
          console.error(`doorbell ${deviceId}: cannot list its clips: ${describeFailure(error).message}`);
          continue;
        }
        console.log(`doorbell ${deviceId}: ${clips.length} clip(s)`);
        for (const c of clips) console.log(`  ${c.seq === undefined ? '' : `#${c.seq}  `}${c.clip}  ${c.state}${c.reason ? ` (${c.reason})` : ''}  ${c.bytes} bytes`);
        printNotices(notices);
      }
      const failed = listed.filter((d) => d.error).length;
      if (failed) throw new SealbellError('CLIPS_PARTIAL', `${failed} of ${listed.length} doorbell(s) could not be listed (above)`);
      return;
    }
    case 'fetch': {
      const { values, positionals } = parseArgs({
        args,
        allowPositionals: true,
        options: { ...common, out: { type: 'string' }, device: { type: 'string' }, history: { type: 'boolean' }, force: { type: 'boolean' }, 'passphrase-file': { type: 'string' } },
      });
      if (positionals.length !== 1) throw new UsageError('phone fetch needs one clip id');
      const out = fetchOutput(need(values.out, '--out FILE'), values.force);
      const account = values.history ? await unlock(existingDir(values.dir!), await readPassphrase(values['passphrase-file'])) : undefined;
      const history = account ? [account.history, ...(account.previous ?? [])] : undefined;
      let r;
      try {
        r = await phoneFetch({ dir: existingDir(values.dir!), clip: positionals[0], out, deviceId: values.device, history });
      } catch (e) {
        if (e instanceof SealbellError && e.code === 'NO_IDENTITY' && !values.history) {
          throw new SealbellError(e.code, `${e.message}. A clip from before this phone joined opens with --history (asks for the passphrase).`);
        }
        throw e;
      }
      console.log(`ok: clip ${r.clip} from doorbell ${r.deviceId}: signature and payload checked, ${r.frames} frames decrypted to ${r.out}`);
      printNotices(r.notices);
      return;
    }
    case 'remux': {
      const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { out: { type: 'string' } } });
      if (positionals.length !== 1) throw new UsageError('phone remux needs one input file');
      const r = remuxFile(positionals[0], need(values.out, '--out FILE'));
      const cut = r.droppedTail ? `; the input was cut short: ${r.droppedTail} bytes after the last whole frame dropped` : '';
      console.log(`ok: ${r.frames} frames, ${(r.duration / 1000).toFixed(1)} s, seekable, in ${values.out}${cut}`);
      return;
    }
    case 'share': {
      const { values, positionals } = parseArgs({
        args,
        allowPositionals: true,
        options: { ...common, to: { type: 'string' }, passphrase: { type: 'boolean' }, 'share-passphrase-file': { type: 'string' }, out: { type: 'string' } },
      });
      if (positionals.length !== 1) throw new UsageError('phone share needs one clip (an id or a .age file)');
      if (!values.to === !values.passphrase) throw new UsageError('phone share needs --to age1…RECIPIENT or --passphrase (one of them)');
      const passphrase = values.passphrase
        ? new TextEncoder().encode(await readSecret({ file: values['share-passphrase-file'], env: 'SEALBELL_SHARE_PASSPHRASE', what: 'passphrase for the shared clip' }))
        : undefined;
      const r = phoneShare({ dir: values.dir!, clip: positionals[0], to: values.to, passphrase, out: values.out });
      console.log(`ok: clip ${r.clip} (${r.frames} frames) shared ${values.to ? `to ${values.to.slice(0, 16)}…` : 'with a passphrase'}: ${path.dirname(r.files.age)}`);
      console.log(`  they open it with: age -d ${values.to ? '-i THEIR.key ' : ''}-o clip.mkv ${path.basename(r.files.age)}`);
      console.log(`  and check it with: minisign -V -p device.pub -m ${path.basename(r.files.manifest)}`);
      return;
    }
    case 'watch': {
      const { values } = parseArgs({ args, options: { ...common, device: { type: 'string' }, name: { type: 'string' }, posters: { type: 'string' } } });
      const dir = existingDir(values.dir!);
      const named = values.device ?? (values.name ? onlyDevice(dir) : undefined);
      const w = await phoneWatch({
        dir,
        deviceId: values.device,
        names: values.name && named ? { [named]: values.name } : undefined,
        posterDir: values.posters,
        onEvent: (r, deviceId) => {
          if (r instanceof Error) console.log(`doorbell ${deviceId}: event refused: ${r.message} [${r.code}]`);
          else console.log(`${r.line}${r.posterFile ? ` (poster ${r.posterFile})` : ''}`);
        },
        onClip: (r, clip) => {
          console.log(r instanceof Error ? `clip ${clip}: ${r.message} [${r.code}]` : `clip ${clip}: fetched and checked, ${r.frames} frames (${r.age})`);
          if (!(r instanceof Error)) printNotices(r.notices);
        },
        onStatus: (deviceId, message) => console.log(`doorbell ${deviceId}: ${message}`),
      });
      console.log('watching for new clips (Ctrl-C to stop)');
      let stopped = false;
      void untilStopped().then(() => {
        stopped = true;
        w.close();
      });
      await w.closed;
      if (stopped) console.log('stopped watching');
      return;
    }
    case 'live': {
      const { values } = parseArgs({ args, options: { ...common, seconds: { type: 'string', default: '10' }, out: { type: 'string' }, device: { type: 'string' } } });
      const seconds = positiveInt(values.seconds!, '--seconds');
      const r = await phoneLive({ dir: existingDir(values.dir!), deviceId: values.device, seconds, out: need(values.out, '--out FILE'), log: (l) => console.log(l) });
      const dropped = r.dropped.replayed + r.dropped.late + r.dropped.forged;
      console.log(`live: ${r.frames} frames decrypted into ${r.out}${dropped ? `; ${dropped} records dropped (replayed ${r.dropped.replayed}, late ${r.dropped.late}, forged ${r.dropped.forged})` : ''}`);
      return;
    }
    case 'serve': {
      const { values } = parseArgs({ args, options: { relay: { type: 'string' }, port: { type: 'string', default: '8090' }, app: { type: 'string' } } });
      const port = portNumber(values.port!);
      await portFree(port, '127.0.0.1');
      const s = await startPhoneServer({ port, relayUrl: need(values.relay, '--relay URL'), appDir: values.app && existingDir(values.app) });
      console.log(`phone serve: open ${s.url} (relay ${values.relay}; Ctrl-C to stop)`);
      await untilStopped();
      await s.close();
      return;
    }
    case undefined:
    case 'help':
    case '--help':
      process.stdout.write(PHONE_USAGE.trimStart());
      return;
    default:
      throw new UsageError(`unknown phone command "${sub}"`);
  }
}

/** `--name` without `--device` names the phone's one doorbell. */
function onlyDevice(dir: string): string {
  const ids = listDevices(dir);
  if (ids.length !== 1) throw new UsageError('--name needs --device ID when this phone has several doorbells');
  return ids[0];
}

/** Clip-chain and roster findings: on stderr, loud, each naming its doorbell. */
function printNotices(notices: ChainNotice[]): void {
  for (const n of notices) console.error(`warning: ${n.message} [${n.code}]`);
}
