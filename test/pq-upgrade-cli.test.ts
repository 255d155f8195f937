// `sealbell phone pq-upgrade` through a real relay and the hosted doorbell: a classic account
// with two phones moves to post-quantum, one phone at a time; each step is a signed roster
// update the doorbell takes, and the clips recorded afterwards are post-quantum.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { RosterStore } from '../src/roster/roster-store.js';
import { rosterKem } from '../src/roster/roster.js';
import { HostedDoorbell } from '../hosts/node/hosted-doorbell.js';
import { tempDir } from './helpers.js';
import { ok, sealbell, startUntil, waitFor } from './cli-helpers.js';

describe('sealbell phone pq-upgrade, end to end on loopback', function () {
  this.timeout(180_000);
  const dir = tempDir('pq-upgrade-cli');
  const at = (...p: string[]) => path.join(dir, ...p);
  const children: ChildProcess[] = [];
  let doorbell: HostedDoorbell | undefined;
  after(async () => {
    for (const c of children) c.kill('SIGTERM');
    await doorbell?.close();
  });

  it('classic account → phone 1 moves (and the account) → phone 2 moves; clips follow', async () => {
    const prov = ok(await sealbell(['provision', '--out', at('factory')]));
    const code = prov.match(/code: (\d{4}-\d{4}-\d{4})/)![1];
    const relay = await startUntil(['relay', '--port', '0', '--data', at('relay')], /relay: (http:\/\/127\.0\.0\.1:\d+)/);
    children.push(relay.child);
    const relayUrl = relay.match[1];
    HostedDoorbell.install(at('device'), new Uint8Array(fs.readFileSync(at('factory', 'setup-verifier.bin'))));
    doorbell = new HostedDoorbell({ dir: at('device'), clipSeconds: 2 });
    const { setupUrl } = await doorbell.boot();

    const init = ok(await sealbell(['phone', 'init', '--dir', at('phone1')]));
    const passphrase = init.match(/^ {4}((?:[a-z]+ ){11}[a-z]+)$/m)![1];
    const env = { SEALBELL_WIFI_PASSWORD: 'hunter2 but longer', SEALBELL_PASSPHRASE: passphrase };
    const setup = ok(await sealbell(['phone', 'setup', '--dir', at('phone1'), '--endpoint', setupUrl!, '--ssid', 'Home', '--relay', relayUrl, '--admin-token-file', at('relay', 'admin-token'), '--code', code], { env }));
    const deviceId = setup.match(/doorbell ([0-9A-F]{16}) set up/)![1];
    const rosters = new RosterStore(doorbell.store, deviceId);
    await waitFor(() => doorbell!.uplink?.state === 'ready', 'the doorbell connects to the relay', doorbell);
    ok(await sealbell(['phone', 'enroll', '--dir', at('phone2'), '--relay', relayUrl, '--name', 'tablet'], { env }));
    await waitFor(() => rosters.load()!.roster.epoch === 2, 'the doorbell takes epoch 2', doorbell);
    doorbell.prepare();
    const classicClip = doorbell.press();
    await doorbell.run(3000);
    assert.ok(await doorbell.drain());

    // The enrolled phone cannot move the account (no escrow write token): nothing changes.
    const early = await sealbell(['phone', 'pq-upgrade', '--dir', at('phone2')], { env });
    assert.equal(early.status, 1);
    assert.match(early.stderr, /PHONE_STATE/);

    const up1 = ok(await sealbell(['phone', 'pq-upgrade', '--dir', at('phone1')], { env }));
    assert.match(up1, /account moved to post-quantum/);
    assert.match(up1, /still classic.*"tablet"/);
    await waitFor(() => rosters.load()!.roster.epoch === 3, 'the doorbell takes epoch 3', doorbell);
    assert.equal(rosterKem(rosters.load()!.roster), 'mlkem768x25519');
    const up2 = ok(await sealbell(['phone', 'pq-upgrade', '--dir', at('phone2')], { env }));
    assert.doesNotMatch(up2, /account moved/);
    await waitFor(() => rosters.load()!.roster.epoch === 4, 'the doorbell takes epoch 4', doorbell);
    assert.deepEqual(rosters.load()!.roster.phones.map((p) => p.name), ['phone 1', 'tablet']);

    const pqClip = doorbell.press();
    await doorbell.run(3000);
    assert.ok(await doorbell.drain());
    for (const phone of ['phone1', 'phone2']) {
      assert.match(ok(await sealbell(['phone', 'fetch', pqClip, '--dir', at(phone), '--out', at(`${phone}-pq.mkv`)])), /20 frames/);
      assert.match(fs.readFileSync(at(phone, 'identity.key'), 'utf8'), /^AGE-SECRET-KEY-PQ-1/m);
    }
    const header = fs.readFileSync(at('phone1', 'clips', `${pqClip}.age`)).subarray(0, 8000).toString('latin1');
    assert.ok(header.includes('-> mlkem768x25519 ') && !header.includes('-> X25519 '));
    // the classic clip from before still opens with the kept classic key
    assert.match(ok(await sealbell(['phone', 'fetch', classicClip, '--dir', at('phone1'), '--out', at('old.mkv')])), /20 frames/);
  });
});
