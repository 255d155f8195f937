// The `sealbell` command as an owner types it, in README's order: provision a doorbell
// (straight into its state folder), run a relay, run the doorbell (`sealbell doorbell`:
// the firmware on this machine), make the account, set the doorbell up with the code read
// back from the QR PNG, ring it, fetch and watch clips, live view, enroll a second phone
// with the passphrase, revoke it. Then what a doorbell owner does to the device itself: stop
// it in the middle of a clip while the relay is down (nothing sealed is lost), hold the
// button (setup reopens), hold it again (factory reset). Every command is a real child
// process; everything is on loopback. Waits are for output or state, never for a time.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { PNG } from 'pngjs';
import jsQRModule from 'jsqr';
import { requireTool, run, tempDir } from './helpers.js';
import { eventually, ok, sealbell, startedCommands } from './cli-helpers.js';

// jsqr is CommonJS: under Node's ESM interop the default import is the function itself.
const jsQR = jsQRModule as unknown as typeof jsQRModule.default;

const framesIn = (file: string) => Number(run('ffprobe', ['-v', 'error', '-count_frames', '-select_streams', 'v:0', '-show_entries', 'stream=nb_read_frames', '-of', 'csv=p=0', file]).trim());

describe('the sealbell command, end to end on loopback', function () {
  this.timeout(600_000);
  const dir = tempDir('cli-flow');
  const at = (...p: string[]) => path.join(dir, ...p);
  const start = startedCommands();

  it('provision → relay → doorbell → phone init → setup (code from the QR PNG) → press → clips → fetch → live → enroll → revoke → watch; stop mid-clip; long presses', async () => {
    requireTool('ffprobe');
    // Factory: the label, and the verifier straight into the doorbell's state folder.
    const prov = ok(await sealbell(['provision', '--out', at('factory'), '--state', at('door1')]));
    assert.match(prov, /code: \d{4}-\d{4}-\d{4}/);
    assert.match(prov, /[█▀▄]/, 'the QR code is drawn for the terminal');
    const png = PNG.sync.read(fs.readFileSync(at('factory', 'setup-qr.png')));
    const qr = jsQR(new Uint8ClampedArray(png.data), png.width, png.height);
    assert.ok(qr, 'the PNG holds a readable QR code');
    assert.match(qr.data, /^SB1:\d{12}:[A-Z2-7]+$/);
    assert.ok(prov.includes(qr.data), 'the same payload as the label text');
    assert.deepEqual(fs.readFileSync(at('door1', 'setup-verifier.bin')), fs.readFileSync(at('factory', 'setup-verifier.bin')));

    // The relay, with its admin token made on first start.
    const relay = start(['relay', '--port', '0', '--data', at('relay')]);
    const relayUrl = (await relay.wait(/relay: (http:\/\/127\.0\.0\.1:(\d+))/))[1];
    const relayPort = relayUrl.split(':')[2];
    assert.equal(fs.statSync(at('relay', 'admin-token')).mode & 0o077, 0);

    // The doorbell, fresh from the factory: it opens setup and prints where.
    let door = start(['doorbell', '--state', at('door1'), '--setup-port', '0', '--clip-seconds', '2']);
    const setupUrl = (await door.wait(/setup endpoint: (http:\/\/127\.0\.0\.1:\d+\/setup)/))[1];
    const firstId = (await door.wait(/device id ([0-9A-F]{16})/))[1];
    assert.equal(fs.statSync(at('door1', 'control.sock')).mode & 0o777, 0o600, 'only the owner can ring it');

    // The owner's phone.
    const init = ok(await sealbell(['phone', 'init', '--dir', at('phone1')]));
    const passphrase = init.match(/^ {4}((?:[a-z]+ ){11}[a-z]+)$/m)![1];

    const wifi = { SEALBELL_WIFI_PASSWORD: 'hunter2 but longer', SEALBELL_PASSPHRASE: passphrase };
    const setupArgs = ['phone', 'setup', '--dir', at('phone1'), '--endpoint', setupUrl, '--ssid', 'Home', '--relay', relayUrl, '--admin-token-file', at('relay', 'admin-token')];
    // A wrong code first: a clear error, counted by the doorbell.
    const digits = qr.data.split(':')[1];
    const wrong = await sealbell([...setupArgs, '--code', `${digits.slice(0, 10)}${(Number(digits[10]) + 1) % 10}${digits[11]}`], { env: wifi });
    assert.equal(wrong.status, 1);
    assert.match(wrong.stderr, /SETUP_(WRONG_CODE|CODE)/);
    const setup = ok(await sealbell([...setupArgs, '--code', qr.data], { env: wifi }));
    const deviceId = setup.match(/doorbell ([0-9A-F]{16}) set up/)![1];
    assert.equal(deviceId, firstId);
    assert.match(setup, /registered on/);
    await door.wait(/connected to the relay/);

    // A press, from another terminal: the clip goes sealed through the relay.
    const clip = ok(await sealbell(['doorbell', 'press', '--state', at('door1')])).match(/clip ([0-9A-Za-z_-]+)/)![1];
    await door.wait(new RegExp(`clip ${clip}: done, \\d+ frames`));
    await eventually('the clip is at the relay, verified', async () => new RegExp(`${clip}\\s+verified`).test((await sealbell(['phone', 'clips', '--dir', at('phone1')])).stdout));
    const fetched = ok(await sealbell(['phone', 'fetch', clip, '--dir', at('phone1'), '--out', at('clip.mkv')]));
    const frames = Number(fetched.match(/signature and payload checked, (\d+) frames/)![1]);
    assert.ok(frames > 0);
    assert.equal(framesIn(at('clip.mkv')), frames);
    // What the phone wrote is seekable: ffprobe shows its Duration (the sealed form has none).
    assert.ok(Number(run('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', at('clip.mkv')]).trim()) > 0);

    // Live view from the command line (the doorbell runs in real time).
    const live = ok(await sealbell(['phone', 'live', '--dir', at('phone1'), '--seconds', '2', '--out', at('live.mkv')]));
    const liveFrames = Number(live.match(/live: (\d+) frames decrypted into/)![1]);
    assert.ok(liveFrames > 0);
    assert.equal(framesIn(at('live.mkv')), liveFrames);

    // The phone web app, served for a self-hosted setup on loopback, with the relay's API behind it.
    const serve = start(['phone', 'serve', '--relay', relayUrl, '--port', '0']);
    const appUrl = (await serve.wait(/phone serve: open (http:\/\/127\.0\.0\.1:\d+\/app\/)/))[1];
    const page = await fetch(appUrl);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<html/i);
    assert.deepEqual(await (await fetch(`${appUrl}relay.json`)).json(), { relay: new URL(relayUrl).origin });
    const passed = await fetch(new URL('/v1/authorities/0000000000000000/devices', appUrl));
    assert.deepEqual(await passed.json(), { authority: '0000000000000000', devices: [] }, 'the relay API, passed through');
    await serve.stop();

    // A second phone, with nothing but the passphrase (on stdin).
    const enrolled = ok(await sealbell(['phone', 'enroll', '--dir', at('phone2'), '--relay', relayUrl, '--name', 'kitchen tablet'], { input: `${passphrase.toUpperCase()}\n` }));
    assert.match(enrolled, new RegExp(`${deviceId} epoch 2`));
    const typo = await sealbell(['phone', 'enroll', '--dir', at('phone3'), '--relay', relayUrl, '--name', 'x'], { input: passphrase.replace(/^\w+/, 'zzzz') });
    assert.equal(typo.status, 1);
    assert.match(typo.stderr, /PASSPHRASE_TYPO/);
    await door.wait(/roster epoch 2: 2 phone\(s\)/);
    assert.match(ok(await sealbell(['phone', 'clips', '--dir', at('phone2')])), new RegExp(clip));
    // The clip from before the tablet joined: not sealed to it, but to the account history key.
    const before = await sealbell(['phone', 'fetch', clip, '--dir', at('phone2'), '--out', at('old.mkv')]);
    assert.equal(before.status, 1);
    assert.match(before.stderr, /NO_IDENTITY/);
    assert.ok(!fs.existsSync(at('old.mkv')));
    assert.match(ok(await sealbell(['phone', 'fetch', clip, '--dir', at('phone2'), '--out', at('old.mkv'), '--history'], { input: `${passphrase}\n` })), new RegExp(`${frames} frames`));

    // Watch: a new clip is fetched and checked as soon as the relay has it.
    const watch = start(['phone', 'watch', '--dir', at('phone2')]);
    await watch.wait(/watching/);
    const second = ok(await sealbell(['doorbell', 'press', '--state', at('door1')])).match(/clip ([0-9A-Za-z_-]+)/)![1];
    await watch.wait(new RegExp(`clip ${second}: fetched and checked, \\d+ frames`));
    await watch.stop();

    // Revoke the tablet: the relay shuts it out once the doorbell holds the new roster.
    // Revoking needs the passphrase (the phone keeps no account keys in the clear): here on stdin.
    const noPass = await sealbell(['phone', 'revoke', '--dir', at('phone1'), '--phone', 'kitchen tablet']);
    assert.equal(noPass.status, 1);
    assert.match(noPass.stderr, /NO_SECRET/);
    // It waits for the doorbell's acknowledgement, and shows the account's new passphrase once.
    const revoked = ok(await sealbell(['phone', 'revoke', '--dir', at('phone1'), '--phone', 'kitchen tablet'], { input: `${passphrase}\n` }));
    assert.match(revoked, /epoch 3 published without "kitchen tablet"/);
    assert.match(revoked, new RegExp(`doorbell ${deviceId}: confirmed: it holds roster epoch 3`));
    const fresh = revoked.match(/NEW passphrase[^\n]*\n\n {4}([a-z ]+)\n/)![1];
    assert.notEqual(fresh, passphrase);
    await door.wait(/roster epoch 3: 1 phone\(s\)/);
    const status = ok(await sealbell(['phone', 'status', '--dir', at('phone1')]));
    assert.match(status, new RegExp(`doorbell ${deviceId}: acknowledged roster epoch 3 .*1 phone\\(s\\)[\\s\\S]*pending: none`));
    // the live session phone 1 asked for earlier is listed (a doorbell starts none a phone did not sign for)
    assert.match(status, new RegExp(`live sessions this phone asked for: \\n +\\S+ +\\S+ +${liveFrames} frame\\(s\\), ended: seconds`));
    // the old passphrase enrolls nothing now
    const stale = await sealbell(['phone', 'enroll', '--dir', at('phone4'), '--relay', relayUrl, '--name', 'x'], { input: `${passphrase}\n` });
    assert.equal(stale.status, 1);
    assert.match(stale.stderr, /NO_ESCROW/);
    await eventually('the relay shuts the revoked phone out', async () => {
      const r = await sealbell(['phone', 'clips', '--dir', at('phone2')]);
      return r.status === 1 && /PHONE_NOT_ALLOWED/.test(r.stderr);
    });

    // The relay goes down; the doorbell is stopped (SIGTERM) in the middle of a long clip.
    assert.equal(await relay.stop(), 0);
    assert.equal(await door.stop(), 0);
    door = start(['doorbell', '--state', at('door1'), '--setup-port', '0', '--clip-seconds', '600']);
    await door.wait(/light: (idle|offline)/);
    const cut = ok(await sealbell(['doorbell', 'press', '--state', at('door1')])).match(/clip ([0-9A-Za-z_-]+)/)![1];
    const mark = door.out.length;
    await door.wait(/light: recording/, 0);
    await new Promise((r) => setTimeout(r, 1500)); // some frames into the clip (how many does not matter)
    assert.equal(await door.stop(), 0);
    assert.match(door.out.slice(mark), new RegExp(`clip ${cut}: done, \\d+ frames`), 'SIGTERM seals the clip in progress');
    assert.match(door.out, /sealed clips wait in the spool/);
    // Both come back: the spool goes up and nothing is missing.
    const relay2 = start(['relay', '--port', relayPort, '--data', at('relay')]);
    await relay2.wait(/relay: http/);
    door = start(['doorbell', '--state', at('door1'), '--setup-port', '0', '--clip-seconds', '2']);
    await door.wait(/connected to the relay/);
    await eventually('the cut clip reaches the relay whole', async () => new RegExp(`${cut}\\s+verified`).test((await sealbell(['phone', 'clips', '--dir', at('phone1')])).stdout));
    const cutFetch = ok(await sealbell(['phone', 'fetch', cut, '--dir', at('phone1'), '--out', at('cut.mkv')]));
    const cutFrames = Number(cutFetch.match(/(\d+) frames/)![1]);
    assert.ok(cutFrames > 0, cutFetch);
    assert.equal(framesIn(at('cut.mkv')), cutFrames);

    // Hold the button: setup reopens (same doorbell); hold it again while open: factory reset.
    const from = door.out.length;
    assert.match(ok(await sealbell(['doorbell', 'long-press', '--state', at('door1')])), /setup open/);
    await door.wait(/setup endpoint: http:\/\/127\.0\.0\.1:\d+\/setup/, from);
    assert.match(ok(await sealbell(['doorbell', 'long-press', '--state', at('door1')])), /setup open/);
    const newId = (await door.wait(/factory reset[\s\S]*device id ([0-9A-F]{16})/, from))[1];
    assert.notEqual(newId, deviceId, 'a factory reset makes a new identity');
    const notSetUp = await sealbell(['doorbell', 'press', '--state', at('door1')]);
    assert.equal(notSetUp.status, 1);
    assert.match(notSetUp.stderr, /cannot record now/);
  });
});
