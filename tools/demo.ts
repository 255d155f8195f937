/**
 * `sealbell demo`: the hosted simulator end to end, on loopback. A relay; a doorbell
 * fresh from the factory (`provision`); phone 1 makes the account and sets the doorbell
 * up over its setup endpoint with the code from the label (SPAKE2+); phones 2..M enroll
 * with the passphrase alone; the doorbell records clips on simulated presses and streams
 * them sealed through the relay; with `--revoke K`, phone 1 revokes phone K halfway.
 * Every phone then fetches every clip and opens what it may. With `--live S`, phone 1
 * then watches the doorbell live for S seconds (DIR/live.mkv).
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { SealbellError } from '../src/errors.js';
import { RosterStore } from '../src/roster/roster-store.js';
import { NodeDoorbell } from '../hosts/node/doorbell.js';
import { startRelay } from './relay/server.js';
import { newToken } from './relay/tokens.js';
import { provision } from './provision.js';
import { phoneSetup, registerOnRelay, enrollFromRelay, revokeOnRelay } from './phone/index.js';
import { phoneInitAsync } from './phone/init.js';
import { DeviceFetcher } from './phone/clips.js';
import { readDevice, readPhone, unlockAccountAsync } from './phone/state.js';
import { authorityDevices, RelayApiError } from './relay/phone-client.js';
import { checkClip, clipPaths } from './clip-check.js';
import { demoLive } from './live-demo.js';
import { keyIdHex } from '../src/minisign.js';

export interface DemoOptions {
  out: string;
  clips: number;
  phones: number;
  /** seconds of video per clip */
  seconds: number;
  fps: number;
  /** revoke this phone (2..phones) halfway through the clips */
  revoke?: number;
  /** then phone 1 watches live for this many seconds (DIR/live.mkv) */
  live?: number;
  /** scrypt work factor of the escrow (default 18; tests lower it) */
  escrowLogN?: number;
  /** a post-quantum account (phone init --pq; enrolled phones follow the account) */
  pq?: boolean;
  log: (line: string) => void;
}

export interface DemoResult {
  clipIds: string[];
  deviceId: string;
  /** per phone (index 0 = phone 1): the clips it opened */
  opened: string[][];
  phoneDirs: string[];
  /** the account's passphrase now (a revocation makes a new one) */
  passphrase: string;
  /** every passphrase the account had, oldest first (phones that did not revoke keep the old escrow) */
  passphrases: string[];
}

/** Waits (real time, generously bounded) while the doorbell runs; a clear error if it never happens. */
async function until(device: NodeDoorbell, done: () => boolean | Promise<boolean>, what: string): Promise<void> {
  try {
    await device.until(done, what, 120_000);
  } catch (e) {
    // the doorbell's last log lines say why (a relay that stopped answering, a backoff, a refusal)
    throw new SealbellError('DEMO_TIMEOUT', `timed out waiting: ${what}\n${(e as Error).message.split('\n').slice(1).join('\n')}`);
  }
}

export async function runDemo(o: DemoOptions): Promise<DemoResult> {
  const log = o.log;
  if (o.revoke !== undefined && (o.revoke < 2 || o.revoke > o.phones)) {
    throw new SealbellError('DEMO_OPTIONS', `--revoke must name a phone from 2 to ${o.phones} (phone 1 owns the account)`);
  }
  fs.mkdirSync(o.out, { recursive: true });
  for (const old of fs.readdirSync(o.out)) {
    if (/^(relay|device|factory|clips|phone-\d+(\.key)?|device\.pub|passphrase\.txt|account\.escrow\.age|live\.mkv)$/.test(old)) fs.rmSync(path.join(o.out, old), { recursive: true, force: true });
  }
  const at = (...p: string[]) => path.join(o.out, ...p);

  // Factory: the setup code goes on the label, its SPAKE2+ verifier into the doorbell.
  const factory = await provision({ out: at('factory') });
  log(`factory: setup code ${factory.manualCode} on the label (${factory.labelPath})`);
  // The firmware (src/app) on the Node host, its clock simulated: clips take no wall-clock time.
  const device = new NodeDoorbell({ state: at('device'), verifier: factory.verifierRecord, fps: o.fps, clipSeconds: o.seconds, simulatedStart: Date.now(), log: (l) => log(`  doorbell: ${l}`) });
  // The relay: ciphertext only. Its admin token registers doorbells (the owner runs it).
  const adminToken = newToken();
  const relay = await startRelay({ port: 0, host: '127.0.0.1', dataDir: at('relay'), adminToken });
  log(`relay: listening on ${relay.url}, data in ${at('relay')}`);
  try {
    device.boot();
    const setupUrl = await device.setupUrl();
    log(`doorbell: first boot, setup mode open at ${setupUrl}`);

    // Phone 1 makes the account and sets the doorbell up with the code.
    const phoneDirs = Array.from({ length: o.phones }, (_, i) => at(`phone-${i + 1}`));
    // scrypt off the event loop: the relay and the doorbell share this process
    const account = await phoneInitAsync(phoneDirs[0], { name: 'phone 1', logN: o.escrowLogN, pq: o.pq });
    fs.writeFileSync(at('passphrase.txt'), account.passphrase + '\n', { mode: 0o600 });
    fs.copyFileSync(account.escrowPath, at('account.escrow.age'));
    log(`phone 1: account made; passphrase in ${at('passphrase.txt')}, escrow in ${at('account.escrow.age')}`);
    // Account operations (setup, revoke) need the passphrase: the phone keeps the account keys only in the escrow.
    const keys = await unlockAccountAsync(phoneDirs[0], account.passphrase);
    const passphrases = [account.passphrase];
    const wifi = { ssid: 'sealbell-demo', password: randomBytes(12).toString('base64url') };
    const setup = await phoneSetup({ dir: phoneDirs[0], endpoint: setupUrl!, code: factory.manualCode, wifi, relayUrl: relay.url, account: keys });
    const deviceId = setup.deviceId;
    log(`phone 1: doorbell ${deviceId} set up over SPAKE2+; it holds roster epoch ${setup.roster.roster.epoch}`);
    await registerOnRelay({ dir: phoneDirs[0], deviceId, adminToken, account: keys });
    log('phone 1: doorbell registered on the relay, escrow uploaded');
    fs.writeFileSync(at('device.pub'), readDevice(phoneDirs[0], deviceId).publicKeyText);

    const rosters = new RosterStore(device.store, deviceId);
    const epoch = () => rosters.load()?.roster.epoch ?? 0;
    // The doorbell joins the owner's network, connects and tells the relay its roster.
    const authorityId = keyIdHex(keys.authority.keyId);
    await until(device, async () => (await authorityDevices(relay.url, authorityId)).includes(deviceId), 'the doorbell connects to the relay');

    // Phones 2..M: the passphrase is all they need.
    for (let i = 2; i <= o.phones; i++) {
      const want = epoch() + 1;
      await enrollFromRelay({ dir: phoneDirs[i - 1], relay: relay.url, passphrase: account.passphrase, name: `phone ${i}` });
      await until(device, () => epoch() === want, `the doorbell takes roster epoch ${want}`);
      log(`phone ${i}: enrolled with the passphrase; the doorbell now seals to roster epoch ${want}`);
    }

    const pool = device.app.doorbell.pool;
    await until(device, () => pool.available === pool.size, 'the doorbell prepares its clip headers');
    const clipIds: string[] = [];
    const revokeBefore = o.revoke ? Math.floor(o.clips / 2) + 1 : 0;
    for (let c = 1; c <= o.clips; c++) {
      if (c === revokeBefore) {
        const want = epoch() + 1;
        const rev = await revokeOnRelay({ dir: phoneDirs[0], phone: `phone ${o.revoke}`, account: keys, passphrase: passphrases[0], logN: o.escrowLogN });
        await until(device, () => epoch() === want, `the doorbell takes roster epoch ${want}`);
        passphrases.push(rev.passphrase);
        fs.writeFileSync(at('passphrase.txt'), rev.passphrase + '\n', { mode: 0o600 });
        fs.copyFileSync(path.join(phoneDirs[0], 'escrow.age'), at('account.escrow.age'));
        log(`phone 1: revoked phone ${o.revoke}; clips from now on are not sealed to it; the account has a new passphrase (in ${at('passphrase.txt')})`);
      }
      await device.run(2000); // someone walks up
      const id = device.press();
      if (!id) throw new SealbellError('DEMO_PRESS', 'the doorbell did not start a clip');
      log(`[${c}/${o.clips}] button pressed: clip ${id}`);
      await device.run(o.seconds * 1000 + 1000);
      clipIds.push(id);
    }
    await until(device, () => device.spoolEmpty, 'the doorbell uploads everything');
    log(`doorbell: every sealed chunk acknowledged by the relay (${relay.stats.segmentsStored} segments)`);

    // Every phone fetches every clip; phone 1's copies stay in DIR/clips.
    const opened: string[][] = [];
    for (let i = 1; i <= o.phones; i++) {
      const dir = phoneDirs[i - 1];
      fs.copyFileSync(path.join(dir, 'identity.key'), at(`phone-${i}.key`));
      if (i === o.revoke) {
        opened.push(await revokedPhoneView(dir, deviceId, relay.url, at('clips'), clipIds, log, i));
        continue;
      }
      const fetcher = new DeviceFetcher(dir, deviceId);
      const listed = (await fetcher.clips()).filter((c) => c.state === 'verified').map((c) => c.clip);
      const mine: string[] = [];
      for (const id of listed) {
        const r = await fetcher.fetch(id, { keepDir: i === 1 ? at('clips') : undefined });
        mine.push(id);
        if (i === 1) log(`clip ${id}: signature ok, ${r.frames} frames, ${fs.statSync(r.age).size} bytes`);
      }
      opened.push(mine);
      log(`phone ${i}: fetched, checked and opened ${mine.length} of ${listed.length} clips`);
    }
    if (o.live) {
      log(`phone 1: watching live for ${o.live} s`);
      await demoLive({ doorbell: device, phoneDir: phoneDirs[0], deviceId, seconds: o.live, out: at('live.mkv'), log });
    }
    log(`done; files in ${o.out}`);
    return { clipIds, deviceId, opened, phoneDirs, passphrase: passphrases[passphrases.length - 1], passphrases };
  } finally {
    await device.stop();
    await relay.close();
  }
}


/**
 * A revoked phone: the relay no longer lets it in, and of the clips (phone 1's copies) it
 * opens only those recorded before its revocation.
 */
async function revokedPhoneView(dir: string, deviceId: string, relay: string, clipsDir: string, clipIds: string[], log: (l: string) => void, i: number): Promise<string[]> {
  try {
    await new DeviceFetcher(dir, deviceId).clips();
    throw new SealbellError('DEMO_REVOKE', `phone ${i} was revoked but the relay still lets it in`);
  } catch (e) {
    if (!(e instanceof RelayApiError && e.code === 'PHONE_NOT_ALLOWED')) throw e;
  }
  const identity = readPhone(dir).identity;
  const pub = readDevice(dir, deviceId).publicKeyText;
  const opens: string[] = [];
  for (const id of clipIds) {
    try {
      checkClip(clipPaths(path.join(clipsDir, `${id}.age`)), pub, { identities: [identity] });
      opens.push(id);
    } catch (e) {
      if (!(e instanceof SealbellError && e.code === 'NO_IDENTITY')) throw e;
    }
  }
  log(`phone ${i} (revoked): the relay refuses it (PHONE_NOT_ALLOWED); of phone 1's copies it opens ${opens.length} of ${clipIds.length}, the ones recorded before its revocation`);
  return opens;
}
