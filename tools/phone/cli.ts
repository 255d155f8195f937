/** `sealbell phone …`: the owner's phone, as a command. Its state lives in one folder (--dir). */
import { parseArgs } from 'node:util';
import { readSecret } from '../secret-input.js';
import { positiveInt, untilStopped, UsageError } from '../cli-args.js';
import { phoneInit } from './init.js';
import { phoneSetup } from './setup.js';
import { SealbellError } from '../../src/errors.js';
import { enrollFromRelay, phoneLogin, pqUpgradeOnRelay, registerOnRelay, revokeOnRelay, unlockCurrentAccount } from './relay-sync.js';
import { confirmUpdates, describeConfirmations, type Confirmation, type WaitOptions } from './roster-sync.js';
import { describeStatus, phoneStatus } from './status.js';
import { phoneClips, phoneFetch, phoneWatch } from './clips.js';
import type { ChainNotice } from './clip-chain.js';
import { phoneLive } from './live.js';
import { readCaCertificate } from '../tls-files.js';
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
             $SEALBELL_WIFI_PASSWORD).
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
  clips    list the clips of this phone's doorbells
  fetch    download a clip, check it, decrypt it and write the video
             <clip id> --out FILE.mkv [--history: also try the account history key, which
             opens clips from before this phone joined; asks for the passphrase]
  watch    fetch every new clip as it arrives (Ctrl-C to stop)
  live     watch the doorbell live: decrypted frames into a file ffprobe reads
             --seconds S --out FILE.mkv|.mjpeg [--device ID]
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
      const r = phoneInit(values.dir!, { name: values.name, pq: values.pq });
      console.log(`account made in ${values.dir}. Write this passphrase down; it is shown only now and is the only way to add a phone:\n`);
      console.log(`    ${r.passphrase}\n`);
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
      const relayUrl = need(values.relay, '--relay URL');
      // the CA the doorbell will trust for its relay (checked before anything is asked for)
      const relayCa = values['relay-ca'] === undefined ? undefined : readCaCertificate(values['relay-ca'], 'relay CA certificate');
      if (relayCa) checkRelayCa(relayCa.der, relayUrl);
      const account = await unlockCurrentAccount(values.dir!, await readPassphrase(values['passphrase-file']));
      const adminToken = await readSecret({ file: values['admin-token-file'], env: 'SEALBELL_ADMIN_TOKEN', what: 'relay admin token' });
      const password = await readSecret({ file: values['wifi-password-file'], env: 'SEALBELL_WIFI_PASSWORD', what: 'Wi-Fi password' });
      const outcome = await phoneSetup({
        dir: values.dir!,
        endpoint: need(values.endpoint, '--endpoint URL'),
        code: need(values.code, '--code CODE'),
        wifi: { ssid: need(values.ssid, '--ssid SSID'), password },
        relayUrl,
        relayCa,
        account,
      });
      console.log(`doorbell ${outcome.deviceId} set up; it holds roster epoch ${outcome.roster.roster.epoch} and signed for it`);
      await registerOnRelay({ dir: values.dir!, deviceId: outcome.deviceId, adminToken, account });
      console.log(`registered on ${values.relay}; escrow uploaded`);
      return;
    }
    case 'enroll': {
      const { values } = parseArgs({ args, options: { ...common, relay: { type: 'string' }, 'relay-ca': { type: 'string' }, name: { type: 'string' }, 'passphrase-file': { type: 'string' }, wait: { type: 'string', default: '30' } } });
      const relay = need(values.relay, '--relay URL');
      const name = need(values.name, '--name NAME');
      const relayCa = values['relay-ca'] === undefined ? undefined : readCaCertificate(values['relay-ca'], 'relay CA certificate').pem;
      const passphrase = await readPassphrase(values['passphrase-file']);
      const r = await enrollFromRelay({ dir: values.dir!, relay, relayCa, passphrase, name, wait: waitOptions(values.wait) });
      for (const a of r.alarms ?? []) console.error(a);
      console.log(`enrolled as "${name}" (${r.recipient}); roster updates published for ${r.updates.length} doorbell(s): ${r.updates.map((u) => `${u.deviceId} epoch ${u.roster.roster.epoch}`).join(', ')}`);
      report(r.confirmations ?? [], 'this phone is not in its roster yet and cannot open its new clips');
      return;
    }
    case 'revoke': {
      const { values } = parseArgs({ args, options: { ...common, phone: { type: 'string' }, device: { type: 'string' }, 'passphrase-file': { type: 'string' }, wait: { type: 'string', default: '30' } } });
      const phone = need(values.phone, '--phone NAME');
      const wait = waitOptions(values.wait);
      const passphrase = await readPassphrase(values['passphrase-file']);
      const account = await unlockCurrentAccount(values.dir!, passphrase);
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
      const all = await phoneStatus(values.dir!, values.device);
      for (const l of describeStatus(all)) console.log(l);
      const alarms = all.filter((s) => s.alarm);
      if (alarms.length) throw new SealbellError('ROSTER_FORK', `ALARM: the roster of doorbell ${alarms.map((s) => s.deviceId).join(', ')} is forked (see above)`);
      return;
    }
    case 'pq-upgrade': {
      const { values } = parseArgs({ args, options: { ...common, 'passphrase-file': { type: 'string' } } });
      const r = await pqUpgradeOnRelay({ dir: values.dir!, passphrase: await readPassphrase(values['passphrase-file']) });
      if (r.escrow) console.log('the account moved to post-quantum: new history key, escrow replaced on the relay');
      for (const u of r.updates) console.log(`doorbell ${u.deviceId}: roster epoch ${u.roster.roster.epoch} published, sealing post-quantum to ${u.roster.roster.phones.map((p) => `"${p.name}"`).join(', ')}`);
      if (r.waiting.length) console.log(`still classic, no new clips until each runs phone pq-upgrade: ${r.waiting.map((n) => `"${n}"`).join(', ')}`);
      console.log(`this phone's post-quantum recipient: ${r.recipient}`);
      return;
    }
    case 'clips': {
      const { values } = parseArgs({ args, options: { ...common, device: { type: 'string' } } });
      for (const { deviceId, clips, notices } of await phoneClips(values.dir!, values.device)) {
        console.log(`doorbell ${deviceId}: ${clips.length} clip(s)`);
        for (const c of clips) console.log(`  ${c.seq === undefined ? '' : `#${c.seq}  `}${c.clip}  ${c.state}${c.reason ? ` (${c.reason})` : ''}  ${c.bytes} bytes`);
        printNotices(notices);
      }
      return;
    }
    case 'fetch': {
      const { values, positionals } = parseArgs({
        args,
        allowPositionals: true,
        options: { ...common, out: { type: 'string' }, device: { type: 'string' }, history: { type: 'boolean' }, 'passphrase-file': { type: 'string' } },
      });
      if (positionals.length !== 1) throw new UsageError('phone fetch needs one clip id');
      const out = need(values.out, '--out FILE');
      const account = values.history ? await unlockCurrentAccount(values.dir!, await readPassphrase(values['passphrase-file'])) : undefined;
      const history = account
        ? [account.history, ...(account.previous ?? [])]
        : undefined;
      const r = await phoneFetch({ dir: values.dir!, clip: positionals[0], out, deviceId: values.device, history });
      console.log(`ok: clip ${r.clip} from doorbell ${r.deviceId}: signature and payload checked, ${r.frames} frames decrypted to ${r.out}`);
      printNotices(r.notices);
      return;
    }
    case 'watch': {
      const { values } = parseArgs({ args, options: { ...common, device: { type: 'string' } } });
      const w = await phoneWatch({
        dir: values.dir!,
        deviceId: values.device,
        onClip: (r, clip) => {
          console.log(r instanceof Error ? `clip ${clip}: ${r.message} [${r.code}]` : `clip ${clip}: fetched and checked, ${r.frames} frames (${r.age})`);
          if (!(r instanceof Error)) printNotices(r.notices);
        },
      });
      console.log('watching for new clips (Ctrl-C to stop)');
      void untilStopped().then(() => w.close());
      await w.closed;
      return;
    }
    case 'live': {
      const { values } = parseArgs({ args, options: { ...common, seconds: { type: 'string', default: '10' }, out: { type: 'string' }, device: { type: 'string' } } });
      const seconds = positiveInt(values.seconds!, '--seconds');
      const r = await phoneLive({ dir: values.dir!, deviceId: values.device, seconds, out: need(values.out, '--out FILE'), log: (l) => console.log(l) });
      const dropped = r.dropped.replayed + r.dropped.late + r.dropped.forged;
      console.log(`live: ${r.frames} frames decrypted into ${r.out}${dropped ? `; ${dropped} records dropped (replayed ${r.dropped.replayed}, late ${r.dropped.late}, forged ${r.dropped.forged})` : ''}`);
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

/** Clip-chain and roster findings: on stderr, loud, each naming its doorbell. */
function printNotices(notices: ChainNotice[]): void {
  for (const n of notices) console.error(`warning: ${n.message} [${n.code}]`);
}
