// `sealbell phone pq-upgrade` through a real relay and `sealbell doorbell`: a classic account
// with two phones moves to post-quantum, one phone at a time; each step is a signed roster
// update the doorbell takes, and the clips recorded afterwards are post-quantum.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { RosterStore } from '../src/roster/roster-store.js';
import { rosterKem } from '../src/roster/roster.js';
import { FileKeyValueStore } from '../hosts/node/kv-store.js';
import { tempDir } from './helpers.js';
import { ok, pressAndUpload, Running, sealbell } from './cli-helpers.js';

describe('sealbell phone pq-upgrade, end to end on loopback', function () {
  this.timeout(180_000);
  const dir = tempDir('pq-upgrade-cli');
  const at = (...p: string[]) => path.join(dir, ...p);
  const running: Running[] = [];
  after(async () => {
    for (const r of running) await r.stop();
  });

  it('classic account → phone 1 moves (and the account) → phone 2 moves; clips follow', async () => {
    const prov = ok(await sealbell(['provision', '--out', at('factory'), '--state', at('door')]));
    const code = prov.match(/code: (\d{4}-\d{4}-\d{4})/)![1];
    const relay = new Running(['relay', '--port', '0', '--data', at('relay')]);
    const door = new Running(['doorbell', '--state', at('door'), '--setup-port', '0', '--clip-seconds', '2']);
    running.push(relay, door);
    const relayUrl = (await relay.wait(/relay: (http:\/\/127\.0\.0\.1:\d+)/))[1];
    const setupUrl = (await door.wait(/setup endpoint: (http:\/\/127\.0\.0\.1:\d+\/setup)/))[1];

    const init = ok(await sealbell(['phone', 'init', '--dir', at('phone1')]));
    const passphrase = init.match(/^ {4}((?:[a-z]+ ){11}[a-z]+)$/m)![1];
    const env = { SEALBELL_WIFI_PASSWORD: 'hunter2 but longer', SEALBELL_PASSPHRASE: passphrase };
    const setup = ok(await sealbell(['phone', 'setup', '--dir', at('phone1'), '--endpoint', setupUrl!, '--ssid', 'Home', '--relay', relayUrl, '--admin-token-file', at('relay', 'admin-token'), '--code', code], { env }));
    const deviceId = setup.match(/doorbell ([0-9A-F]{16}) set up/)![1];
    // what the doorbell holds, read from its flash (a folder of files, written atomically)
    const held = () => new RosterStore(new FileKeyValueStore(at('door', 'store')), deviceId).load()!.roster;
    await door.wait(/connected to the relay/);
    ok(await sealbell(['phone', 'enroll', '--dir', at('phone2'), '--relay', relayUrl, '--name', 'tablet'], { env }));
    await door.wait(/roster epoch 2: /);
    const classicClip = await pressAndUpload(door, at('door'), at('phone1'));

    // The enrolled phone cannot move the account (no escrow write token): nothing changes.
    const early = await sealbell(['phone', 'pq-upgrade', '--dir', at('phone2')], { env });
    assert.equal(early.status, 1);
    assert.match(early.stderr, /PHONE_STATE/);

    const up1 = ok(await sealbell(['phone', 'pq-upgrade', '--dir', at('phone1')], { env }));
    assert.match(up1, /account moved to post-quantum/);
    assert.match(up1, /still classic.*"tablet"/);
    await door.wait(/roster epoch 3: /);
    assert.equal(rosterKem(held()), 'mlkem768x25519');
    const up2 = ok(await sealbell(['phone', 'pq-upgrade', '--dir', at('phone2')], { env }));
    assert.doesNotMatch(up2, /account moved/);
    await door.wait(/roster epoch 4: /);
    assert.deepEqual(held().phones.map((p) => p.name), ['phone 1', 'tablet']);

    const pqClip = await pressAndUpload(door, at('door'), at('phone1'));
    for (const phone of ['phone1', 'phone2']) {
      assert.match(ok(await sealbell(['phone', 'fetch', pqClip, '--dir', at(phone), '--out', at(`${phone}-pq.mkv`)])), /\d+ frames/);
      assert.match(fs.readFileSync(at(phone, 'identity.key'), 'utf8'), /^AGE-SECRET-KEY-PQ-1/m);
    }
    const header = fs.readFileSync(at('phone1', 'clips', `${pqClip}.age`)).subarray(0, 8000).toString('latin1');
    assert.ok(header.includes('-> mlkem768x25519 ') && !header.includes('-> X25519 '));
    // the classic clip from before still opens with the kept classic key
    assert.match(ok(await sealbell(['phone', 'fetch', classicClip, '--dir', at('phone1'), '--out', at('old.mkv')])), /\d+ frames/);
  });
});
