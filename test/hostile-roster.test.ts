// Issue 12, attacks 1–3, as code: a hostile relay (test/hostile-proxy.ts in front of the real
// relay) between the doorbell, the phones and the relay, withholding, hiding, forking and
// replaying rosters, and a removed member who remembers the old passphrase. What must hold:
// no revoked phone opens a clip recorded after the doorbell acknowledged its removal; where
// the relay withholds or forks, the owner's phone says so within a bounded time, naming the
// doorbell; the old passphrase opens nothing current and signs nothing the doorbell takes.
import assert from 'node:assert/strict';
import path from 'node:path';
import Database from 'better-sqlite3';
import { base64 } from '@scure/base';
import { identityToRecipient } from '../src/age/x25519.js';
import { encodeRosterBundle } from '../src/roster/bundle.js';
import { signRoster, successor, type SignedRoster } from '../src/roster/roster.js';
import { recipientsOf, RosterStore } from '../src/roster/roster-store.js';
import { DeviceRoster } from '../src/roster/device-roster.js';
import { registerDevice, newDeviceCredential } from '../tools/relay/owner-client.js';
import { getEscrow, publishRoster } from '../tools/relay/phone-client.js';
import { phoneInit } from '../tools/phone/init.js';
import { readAuthorityPub, readPhone, unlockAccount, writeDevice, writeRoster, type AccountKeys } from '../tools/phone/state.js';
import { rosterEntry } from '../tools/phone/roster-edit.js';
import { accountIdFor, endorseDevice, enrollFromRelay, phoneLogin, revokeOnRelay, unlockCurrentAccount, uploadEscrow } from '../tools/phone/relay-sync.js';
import { confirmUpdates, describeConfirmations } from '../tools/phone/roster-sync.js';
import { phoneStatus } from '../tools/phone/status.js';
import { openEscrow } from '../tools/phone/escrow.js';
import { MemoryStore, seededRandom, tempDir } from './helpers.js';
import { opens, throwsCode } from './setup-fixtures.js';
import { ADMIN_TOKEN, expectApiError, sleep, T0, TestDevice, type Clock } from './relay-helpers.js';
import { startRelay, type Relay } from '../tools/relay/server.js';
import { startHostileProxy, wsJson, type HostileProxy, type WsConnection } from './hostile-proxy.js';
import { sealbell } from './cli-helpers.js';

/** Escrows in these tests use a low scrypt work factor (the format is the same). */
const LOG_N = 10;
/** How long the owner's phone waits for an acknowledgement that the relay withholds: bounded, and short here. */
const WITHHELD_MS = 1500;
/** Generous: for what does arrive. */
const ARRIVES_MS = 30_000;
const RISK = 'the removed phone may still read new clips';

const proxies: HostileProxy[] = [];
const relays: Relay[] = [];
const drivers: ReturnType<typeof setInterval>[] = [];

async function until(done: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const end = Date.now() + 30_000;
  while (!(await done())) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await sleep(10);
  }
}

/** The epoch the relay has recorded the doorbell as holding (read from its database). */
function relayHeld(dataDir: string, device: string): number | undefined {
  const db = new Database(path.join(dataDir, 'relay.sqlite'), { readonly: true, fileMustExist: true });
  try {
    return (db.prepare('SELECT epoch FROM held_rosters WHERE device = ?').get(device) as { epoch: number } | undefined)?.epoch;
  } finally {
    db.close();
  }
}

/** One doorbell set up by the owner's phone, behind the hostile proxy, its I/O running in the background. */
async function world(seed: string) {
  const proxy = await startHostileProxy();
  proxies.push(proxy);
  // Phones sign their relay logins for the origin they use: the proxy's.
  const dataDir = tempDir(`${seed}-relay`);
  const relay = Object.assign(await startRelay({ port: 0, host: '127.0.0.1', dataDir, adminToken: ADMIN_TOKEN, origin: proxy.url }), { dataDir });
  relays.push(relay);
  proxy.target = relay.url;
  const clock: Clock = { now: T0 };
  const ownerDir = tempDir(`${seed}-owner`);
  const init = phoneInit(ownerDir, { name: 'owner', random: seededRandom(`${seed}/owner`), logN: LOG_N });
  const account = unlockAccount(ownerDir, init.passphrase);
  const owner = readPhone(ownerDir);
  const kv = new MemoryStore();
  const credential = newDeviceCredential();
  let first: SignedRoster | undefined;
  const dev = await TestDevice.create({
    seed,
    relay: { url: proxy.url, uplinkUrl: proxy.uplinkUrl },
    clock,
    kv,
    credential,
    roster: (identity, doorbell) => {
      const rosters = new RosterStore(kv, identity.deviceId);
      // what setup leaves: epoch 1, the owner's phone and the history recipient
      first = signRoster({ v: 1, device: identity.deviceId, epoch: 1, phones: [rosterEntry(owner)], history: identityToRecipient(account.history) }, account.authority);
      if (!rosters.load()) rosters.accept(encodeRosterBundle(first), account.authority.publicKey);
      doorbell.setRecipients(recipientsOf(rosters.load()!.roster));
      return new DeviceRoster({ rosters, identity, doorbell });
    },
  });
  const publicKeyText = dev.identity.publicKeyText;
  await registerDevice(relay.url, ADMIN_TOKEN, { credential, publicKey: publicKeyText, endorsement: endorseDevice(account.authority, dev.id, publicKeyText) });
  writeDevice(ownerDir, { deviceId: dev.id, publicKeyText, relayUrl: proxy.url });
  writeRoster(ownerDir, first!);
  await uploadEscrow(ownerDir, proxy.url);
  const rosters = new RosterStore(kv, dev.id);
  dev.uplink.start(clock.now);
  // The doorbell's I/O runs in the background; its clock moves only when a test says so.
  let step = 0;
  drivers.push(
    setInterval(() => {
      clock.now += step;
      dev.uplink.tick(clock.now);
    }, 5),
  );
  await until(() => relayHeld(relay.dataDir, dev.id) === 1, 'the relay hears the doorbell hold epoch 1');

  const enroll = async (name: string, passphrase = init.passphrase) => {
    const dir = tempDir(`${seed}-${name}`);
    const r = await enrollFromRelay({ dir, relay: proxy.url, passphrase, name, wait: { timeoutMs: ARRIVES_MS } });
    return { dir, r, identity: readPhone(dir).identity };
  };
  const uplinkConn = (): WsConnection => {
    const c = [...proxy.connections].find((x) => x.path === '/v1/uplink');
    assert.ok(c, 'the doorbell is connected through the proxy');
    return c;
  };
  /** The relay lets the doorbell reconnect (time moves so its backoff passes). */
  const reconnect = async (epoch: number) => {
    for (const c of proxy.connections) if (c.path === '/v1/uplink') c.close();
    step = 200;
    await until(() => rosters.load()!.roster.epoch === epoch && relayHeld(relay.dataDir, dev.id) === epoch, `the doorbell takes epoch ${epoch}`);
    step = 0;
  };
  const clip = (frames = 3) => {
    clock.now += 5_000;
    const id = dev.recordClip(clock.now, frames);
    return dev.sealed.clips.get(id)!;
  };
  const refusals = () => proxy.seen.ws.filter((m) => m.dir === 'up' && wsJson(m)?.t === 'roster-refused').map((m) => String(wsJson(m)!.code));
  return { relay, proxy, clock, dev, rosters, ownerDir, init, account, owner, enroll, uplinkConn, reconnect, clip, refusals, publicKeyText };
}

const withholdRosters = (p: HostileProxy) => {
  p.ws = (m) => (m.dir === 'down' && wsJson(m)?.t === 'roster' ? 'drop' : m.data);
};

/** The relay hides its pending run from phones (so a new phone edits from the older roster). */
const hidePending = (p: HostileProxy) => {
  p.http = (ex) => {
    if (!ex.req.path.endsWith('/roster/held') || ex.res.status !== 200) return ex.res;
    const j = JSON.parse(ex.res.body.toString('utf8'));
    return { ...ex.res, body: Buffer.from(JSON.stringify({ ...j, pending: null, pendingEpoch: null })) };
  };
};

describe('a hostile relay and rosters (issue 12, attacks 1–3)', function () {
  this.timeout(120_000);
  afterEach(async () => {
    for (const d of drivers.splice(0)) clearInterval(d);
    for (const p of proxies.splice(0)) await p.close();
    for (const r of relays.splice(0)) await r.close();
  });

  it('attack 2, freeze: a withheld revocation is reported as not confirmed, naming the doorbell; once acknowledged, the removed phone opens nothing new', async () => {
    const w = await world('freeze');
    // A slow relay (every WebSocket message held back a while, order kept) delays, but does not stop, an honest update.
    w.proxy.ws = async (m) => {
      await sleep(30);
      return m.data;
    };
    const bob = await w.enroll('bob');
    assert.equal(bob.r.confirmations![0].outcome.state, 'confirmed');
    assert.equal(w.rosters.load()!.roster.epoch, 2);

    // The relay keeps the revocation from the doorbell.
    withholdRosters(w.proxy);
    const rev = await revokeOnRelay({ dir: w.ownerDir, phone: 'bob', account: w.account, passphrase: w.init.passphrase, logN: LOG_N, random: seededRandom('freeze/rotate') });
    assert.deepEqual(rev.removedFrom, [w.dev.id]);
    // bounded: it gives up after WITHHELD_MS, however long the relay withholds
    const c = await confirmUpdates(w.ownerDir, rev.updates, (id) => phoneLogin(w.ownerDir, id), { timeoutMs: WITHHELD_MS });
    const told = describeConfirmations(c, RISK);
    assert.equal(told.ok, false, 'never a silent success');
    assert.match(told.lines[0], new RegExp(`^doorbell ${w.dev.id}: roster epoch 3 published, not yet confirmed by the doorbell: the removed phone may still read new clips`));
    // phone status says what the doorbell holds and what is pending
    const [st] = await phoneStatus(w.ownerDir);
    assert.equal(st.acked!.epoch, 2);
    assert.deepEqual(st.acked!.phones, ['owner', 'bob']);
    assert.ok(st.warnings.some((x) => /published roster epoch 3; the doorbell acknowledges only epoch 2/.test(x)), st.warnings.join('; '));
    // and it is true: while withheld, the doorbell still seals to Bob (which is what the owner was told)
    assert.equal(opens(w.clip(), bob.identity, w.publicKeyText), true);

    // The relay relents; the doorbell takes the revocation and the handover, and acknowledges it.
    w.proxy.ws = (m) => m.data;
    await w.reconnect(3);
    const c2 = await confirmUpdates(w.ownerDir, rev.updates, (id) => phoneLogin(w.ownerDir, id), { timeoutMs: ARRIVES_MS });
    assert.equal(c2[0].outcome.state, 'confirmed');
    const after = w.clip();
    const newAccount = unlockAccount(w.ownerDir, rev.passphrase);
    assert.equal(opens(after, bob.identity, w.publicKeyText), false, 'the removed phone');
    assert.equal(opens(after, w.account.history, w.publicKeyText), false, 'the old history key, which the removed member could open from the old escrow');
    assert.equal(opens(after, w.owner.identity, w.publicKeyText), true);
    assert.equal(opens(after, newAccount.history, w.publicKeyText), true, 'the new history key');

    // The relay replays every roster update it ever passed down (epoch 2 lists Bob) at the doorbell: refused, nothing changes.
    const before = w.refusals().length;
    const captured = w.proxy.seen.ws.filter((m) => m.dir === 'down' && m.path === '/v1/uplink' && wsJson(m)?.t === 'roster');
    assert.ok(captured.length >= 2);
    for (const m of captured) w.uplinkConn().inject('down', m.data.toString('utf8'));
    await until(() => w.refusals().length === before + captured.length, 'the doorbell refuses each');
    // signed by the authority the doorbell has been handed over from: they no longer even verify
    assert.deepEqual(new Set(w.refusals().slice(before)), new Set(['ROSTER_SIGNATURE']));
    assert.equal(w.rosters.load()!.roster.epoch, 3);
    assert.equal(opens(w.clip(), bob.identity, w.publicKeyText), false);
  });

  it('attack 3: after a revocation the old passphrase opens no current escrow, enrolls nothing, and its authority signs nothing the doorbell takes', async () => {
    const w = await world('rotate');
    const bob = await w.enroll('bob');
    const tablet = await w.enroll('tablet');
    const oldEscrow = w.init.escrow;
    const rev = await revokeOnRelay({ dir: w.ownerDir, phone: 'bob', account: w.account, passphrase: w.init.passphrase, logN: LOG_N, random: seededRandom('rotate/rotate') });
    assert.equal(rev.oldEscrow, undefined, 'the relay dropped the old escrow');
    assert.notEqual(rev.passphrase, w.init.passphrase);
    assert.equal((await confirmUpdates(w.ownerDir, rev.updates, (id) => phoneLogin(w.ownerDir, id), { timeoutMs: ARRIVES_MS }))[0].outcome.state, 'confirmed');
    const next = unlockAccount(w.ownerDir, rev.passphrase);
    const newEscrow = await getEscrow(w.relay.url, rev.account);
    assert.equal(openEscrow(newEscrow, rev.passphrase).history, next.history);
    assert.notEqual(next.authority.keyId.join(), w.account.authority.keyId.join(), 'a new account authority');
    assert.notEqual(next.history, w.account.history, 'a new history identity');
    // The tablet (not removed) keeps its old escrow copy; the new passphrase fetches the new escrow.
    throwsCode(() => unlockAccount(tablet.dir, rev.passphrase), 'AGE_PASSPHRASE');
    const onTablet = await unlockCurrentAccount(tablet.dir, rev.passphrase);
    assert.equal(onTablet.history, next.history);
    assert.deepEqual(readAuthorityPub(tablet.dir), next.authority.publicKey);
    assert.equal(unlockAccount(tablet.dir, rev.passphrase).history, next.history, 'and keeps it');
    // the old passphrase: no escrow at the relay, so no enrolling
    await expectApiError(getEscrow(w.relay.url, accountIdFor(w.init.passphrase)), 404, 'NO_ESCROW');
    await expectApiError(enrollFromRelay({ dir: tempDir('rotate-again'), relay: w.proxy.url, passphrase: w.init.passphrase, name: 'bob again' }), 404, 'NO_ESCROW');
    // the new escrow does not open with it
    throwsCode(() => openEscrow(newEscrow, w.init.passphrase), 'AGE_PASSPHRASE');
    // Bob kept the old escrow (or a hostile relay kept it for him): it opens the old account keys,
    // and the doorbell refuses a roster signed with them that puts him back.
    const old: AccountKeys = openEscrow(oldEscrow, w.init.passphrase);
    const held = w.rosters.load()!;
    const back = signRoster(successor(held.roster, { phones: [...held.roster.phones, rosterEntry(readPhone(bob.dir))] }), old.authority);
    await expectApiError(publishRoster(w.relay.url, w.dev.id, encodeRosterBundle(back)), 403, 'ROSTER_SIGNATURE');
    const before = w.refusals().length;
    w.uplinkConn().inject('down', JSON.stringify({ t: 'roster', bundle: base64.encode(encodeRosterBundle(back)) }));
    await until(() => w.refusals().length === before + 1, 'the doorbell refuses it');
    assert.deepEqual(w.refusals().slice(before), ['ROSTER_SIGNATURE']);
    assert.equal(w.rosters.load()!.roster.epoch, 4);
    const after = w.clip();
    for (const id of [bob.identity, old.history]) assert.equal(opens(after, id, w.publicKeyText), false);
  });

  it('attack 1, fork: the relay withholds a revocation and hands an old-passphrase enrollment the older roster; the owner is alarmed, naming the doorbell, and revokes again', async () => {
    const w = await world('fork');
    const bob = await w.enroll('bob');
    withholdRosters(w.proxy);
    hidePending(w.proxy);
    const rev = await revokeOnRelay({ dir: w.ownerDir, phone: 'bob', account: w.account, passphrase: w.init.passphrase, logN: LOG_N, random: seededRandom('fork/rotate') });
    const c = await confirmUpdates(w.ownerDir, rev.updates, (id) => phoneLogin(w.ownerDir, id), { timeoutMs: WITHHELD_MS });
    assert.equal(c[0].outcome.state, 'unconfirmed', 'the owner is told at once that the doorbell did not confirm');

    // The relay keeps serving the old escrow, and delivers what a phone enrolling with the old
    // passphrase publishes straight to the doorbell (the real relay would refuse it as a fork).
    const oldAccount = accountIdFor(w.init.passphrase);
    w.proxy.request = (req) => {
      if (req.method === 'GET' && req.path === `/v1/accounts/${oldAccount}/escrow`) {
        return { status: 200, headers: { 'content-type': 'application/octet-stream' }, body: Buffer.from(w.init.escrow) };
      }
      if (req.method === 'PUT' && req.path === `/v1/devices/${w.dev.id}/roster`) {
        w.uplinkConn().inject('down', JSON.stringify({ t: 'roster', bundle: base64.encode(req.body) }));
        return { status: 200, headers: { 'content-type': 'application/json' }, body: Buffer.from(JSON.stringify({ device: w.dev.id, epoch: 3 })) };
      }
      return undefined;
    };
    const carol = await w.enroll('carol', w.init.passphrase);
    assert.equal(carol.r.updates[0].roster.roster.epoch, 3);
    await until(() => w.rosters.load()!.roster.epoch === 3 && relayHeld(w.relay.dataDir, w.dev.id) === 3, 'the doorbell takes the forked epoch 3');
    assert.ok(w.rosters.load()!.roster.phones.some((p) => p.name === 'bob'), 'the fork puts Bob back: the doorbell never acknowledged his removal');

    // The owner's phone sees both epoch-3 rosters: the alarm, naming the doorbell, within a bounded time.
    const alarm = new RegExp(`ALARM: doorbell ${w.dev.id} has two different rosters for epoch 3`);
    const again = await confirmUpdates(w.ownerDir, rev.updates, (id) => phoneLogin(w.ownerDir, id), { timeoutMs: ARRIVES_MS });
    assert.equal(again[0].outcome.state, 'fork');
    assert.match(describeConfirmations(again, RISK).lines[0], alarm);
    const [st] = await phoneStatus(w.ownerDir);
    assert.match(st.alarm ?? '', alarm);

    // The relay goes honest (or the owner uses another): revoking again works, from what the
    // doorbell acknowledged, signed with the authority it still follows, handing it over anew.
    w.proxy.ws = (m) => m.data;
    w.proxy.http = (ex) => ex.res;
    w.proxy.request = () => undefined;
    const current = unlockAccount(w.ownerDir, rev.passphrase);
    const rev2 = await revokeOnRelay({ dir: w.ownerDir, phone: 'bob', account: current, passphrase: rev.passphrase, logN: LOG_N, random: seededRandom('fork/rotate2') });
    assert.ok(rev2.alarms.some((a) => alarm.test(a)), 'the fork is reported on the way');
    assert.equal(rev2.updates[0].roster.roster.epoch, 4);
    const c3 = await confirmUpdates(w.ownerDir, rev2.updates, (id) => phoneLogin(w.ownerDir, id), { timeoutMs: ARRIVES_MS });
    assert.equal(c3[0].outcome.state, 'confirmed');
    const after = w.clip();
    assert.equal(opens(after, bob.identity, w.publicKeyText), false, 'no clip recorded after the acknowledged removal opens for Bob');
    assert.equal(opens(after, w.account.history, w.publicKeyText), false);
    assert.equal(opens(after, w.owner.identity, w.publicKeyText), true);
  });

  it('`sealbell phone revoke` says it plainly when the doorbell does not confirm: exit status 1, naming the doorbell, the new passphrase shown first', async () => {
    const w = await world('cli');
    await w.enroll('bob');
    withholdRosters(w.proxy);
    const r = await sealbell(['phone', 'revoke', '--dir', w.ownerDir, '--phone', 'bob', '--wait', '1'], { input: `${w.init.passphrase}\n` });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stdout, /NEW passphrase[^\n]*\n\n {4}[a-z]+( [a-z]+){11}\n/);
    assert.match(r.stdout, new RegExp(`doorbell ${w.dev.id}: roster epoch 3 published, not yet confirmed by the doorbell: the removed phone may still read new clips`));
    assert.match(r.stderr, new RegExp(`doorbell ${w.dev.id}: waiting up to 1 s`), 'a progress line');
    assert.match(r.stderr, /\[ROSTER_UNCONFIRMED\]/);
    // and `phone status` shows it pending
    const st = await sealbell(['phone', 'status', '--dir', w.ownerDir]);
    assert.equal(st.status, 0, st.stderr);
    assert.match(st.stdout, new RegExp(`doorbell ${w.dev.id}: acknowledged roster epoch 2 [^\n]*2 phone\\(s\\): owner, bob`));
    assert.match(st.stdout, /warning: this phone published roster epoch 3; the doorbell acknowledges only epoch 2/);
  });
});
