// The `sealbell` command as an owner types it: provision a doorbell, run a relay, make the
// account, set the doorbell up with the code read back from the QR PNG, fetch and watch
// clips, enroll a second phone with the passphrase, revoke it. The doorbell is the hosted
// simulator in this process; every command is a real child process, on loopback only.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { PNG } from 'pngjs';
import jsQRModule from 'jsqr';
import { RosterStore } from '../src/roster/roster-store.js';
import { HostedDoorbell } from '../hosts/node/hosted-doorbell.js';
import { ROOT, requireTool, run, tempDir } from './helpers.js';

interface Result {
  status: number | null;
  stdout: string;
  stderr: string;
}

function sealbell(args: string[], o: { env?: Record<string, string>; input?: string } = {}): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'bin/sealbell.js'), ...args], { env: { ...process.env, ...o.env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
    child.stdin.end(o.input ?? '');
  });
}

/** Starts a long-running command; resolves once a line of its output matches. */
function startUntil(args: string[], pattern: RegExp): Promise<{ child: ChildProcess; match: RegExpMatchArray; output: () => string }> {
  const child = spawn(process.execPath, [path.join(ROOT, 'bin/sealbell.js'), ...args]);
  let out = '';
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      out += d;
      const m = out.match(pattern);
      if (m) resolve({ child, match: m, output: () => out });
    });
    child.stderr!.on('data', (d) => (out += d));
    child.on('close', (code) => reject(new Error(`sealbell ${args[0]} exited ${code}: ${out}`)));
  });
}

// jsqr is CommonJS: under Node's ESM interop the default import is the function itself.
const jsQR = jsQRModule as unknown as typeof jsQRModule.default;

/** Polls `done` (letting the doorbell's I/O run) for up to 60 s of real time. */
async function waitFor(done: () => boolean | Promise<boolean>, what: string, doorbell?: HostedDoorbell): Promise<void> {
  const end = Date.now() + 60_000;
  while (!(await done())) {
    if (Date.now() > end) assert.fail(`timed out: ${what}`);
    if (doorbell) await doorbell.idle(20);
    else await new Promise((r) => setTimeout(r, 20));
  }
}

const ok = (r: Result) => {
  assert.equal(r.status, 0, r.stderr || r.stdout);
  return r.stdout;
};

describe('the sealbell command, end to end on loopback', function () {
  this.timeout(180_000);
  const dir = tempDir('cli-flow');
  const at = (...p: string[]) => path.join(dir, ...p);
  const children: ChildProcess[] = [];
  let doorbell: HostedDoorbell | undefined;
  after(async () => {
    for (const c of children) c.kill('SIGTERM');
    await doorbell?.close();
  });

  it('provision → relay → phone init → phone setup (code from the QR PNG) → clips → fetch → enroll → revoke → watch', async () => {
    // Factory.
    const prov = ok(await sealbell(['provision', '--out', at('factory')]));
    assert.match(prov, /code: \d{4}-\d{4}-\d{4}/);
    assert.match(prov, /[█▀▄]/, 'the QR code is drawn for the terminal');
    const png = PNG.sync.read(fs.readFileSync(at('factory', 'setup-qr.png')));
    const qr = jsQR(new Uint8ClampedArray(png.data), png.width, png.height);
    assert.ok(qr, 'the PNG holds a readable QR code');
    assert.match(qr.data, /^SB1:\d{12}:[A-Z2-7]+$/);
    assert.ok(prov.includes(qr.data), 'the same payload as the label text');

    // The relay, with its admin token made on first start.
    const relay = await startUntil(['relay', '--port', '0', '--data', at('relay')], /relay: (http:\/\/127\.0\.0\.1:\d+)/);
    children.push(relay.child);
    const relayUrl = relay.match[1];
    assert.equal(fs.statSync(at('relay', 'admin-token')).mode & 0o077, 0);

    // A doorbell fresh from the factory.
    HostedDoorbell.install(at('device'), new Uint8Array(fs.readFileSync(at('factory', 'setup-verifier.bin'))));
    doorbell = new HostedDoorbell({ dir: at('device'), clipSeconds: 2 });
    const { setupUrl } = await doorbell.boot();
    assert.ok(setupUrl);

    // The owner's phone.
    const init = ok(await sealbell(['phone', 'init', '--dir', at('phone1')]));
    const passphrase = init.match(/^ {4}((?:[a-z]+ ){11}[a-z]+)$/m)![1];

    const wifi = { SEALBELL_WIFI_PASSWORD: 'hunter2 but longer', SEALBELL_PASSPHRASE: passphrase };
    const setupArgs = ['phone', 'setup', '--dir', at('phone1'), '--endpoint', setupUrl!, '--ssid', 'Home', '--relay', relayUrl, '--admin-token-file', at('relay', 'admin-token')];
    // A wrong code first: a clear error, counted by the doorbell.
    const digits = qr.data.split(':')[1];
    const wrong = await sealbell([...setupArgs, '--code', `${digits.slice(0, 10)}${(Number(digits[10]) + 1) % 10}${digits[11]}`], { env: wifi });
    assert.equal(wrong.status, 1);
    assert.match(wrong.stderr, /SETUP_(WRONG_CODE|CODE)/);
    const setup = ok(await sealbell([...setupArgs, '--code', qr.data], { env: wifi }));
    const deviceId = setup.match(/doorbell ([0-9A-F]{16}) set up/)![1];
    assert.match(setup, /registered on/);

    // The doorbell records; the clip goes through the relay.
    const rosters = new RosterStore(doorbell.store, deviceId);
    await waitFor(() => doorbell!.uplink?.state === 'ready', 'the doorbell connects to the relay', doorbell);
    doorbell.prepare();
    const clip = doorbell.press();
    await doorbell.run(3000);
    assert.ok(await doorbell.drain());
    assert.match(ok(await sealbell(['phone', 'clips', '--dir', at('phone1')])), new RegExp(`${clip}\\s+verified`));
    const fetched = ok(await sealbell(['phone', 'fetch', clip, '--dir', at('phone1'), '--out', at('clip.mkv')]));
    assert.match(fetched, /signature and payload checked, 20 frames/);
    requireTool('ffprobe');
    assert.equal(run('ffprobe', ['-v', 'error', '-count_frames', '-select_streams', 'v:0', '-show_entries', 'stream=nb_read_frames', '-of', 'csv=p=0', at('clip.mkv')]).trim(), '20');

    // Live view from the command line, while the doorbell runs in real time.
    let liveDone: Result | undefined;
    const live = sealbell(['phone', 'live', '--dir', at('phone1'), '--seconds', '2', '--out', at('live.mkv')]).then((r) => (liveDone = r));
    while (!liveDone) {
      await doorbell.run(100);
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.match(ok(await live), /live: \d+ frames decrypted into/);
    assert.ok(Number(run('ffprobe', ['-v', 'error', '-count_frames', '-select_streams', 'v:0', '-show_entries', 'stream=nb_read_frames', '-of', 'csv=p=0', at('live.mkv')]).trim()) >= 5);

    // The web viewer serves its page on loopback.
    const viewer = await startUntil(['viewer', '--dir', at('phone1'), '--port', '0'], /viewer: open (http:\/\/127\.0\.0\.1:\d+\S*)/);
    children.push(viewer.child);
    const page = await fetch(viewer.match[1]);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<html/i);
    viewer.child.kill('SIGTERM');

    // A second phone, with nothing but the passphrase (on stdin).
    const enrolled = ok(await sealbell(['phone', 'enroll', '--dir', at('phone2'), '--relay', relayUrl, '--name', 'kitchen tablet'], { input: `${passphrase.toUpperCase()}\n` }));
    assert.match(enrolled, new RegExp(`${deviceId} epoch 2`));
    const typo = await sealbell(['phone', 'enroll', '--dir', at('phone3'), '--relay', relayUrl, '--name', 'x'], { input: passphrase.replace(/^\w+/, 'zzzz') });
    assert.equal(typo.status, 1);
    assert.match(typo.stderr, /PASSPHRASE_TYPO/);
    await waitFor(() => rosters.load()!.roster.epoch === 2, 'the doorbell takes epoch 2', doorbell);
    assert.match(ok(await sealbell(['phone', 'clips', '--dir', at('phone2')])), new RegExp(clip));
    // The clip from before the tablet joined: not sealed to it, but to the account history key.
    const before = await sealbell(['phone', 'fetch', clip, '--dir', at('phone2'), '--out', at('old.mkv')]);
    assert.equal(before.status, 1);
    assert.match(before.stderr, /NO_IDENTITY/);
    assert.ok(!fs.existsSync(at('old.mkv')));
    assert.match(ok(await sealbell(['phone', 'fetch', clip, '--dir', at('phone2'), '--out', at('old.mkv'), '--history'], { input: `${passphrase}\n` })), /20 frames/);

    // Watch: a new clip is fetched and checked as soon as the relay has it.
    const watch = await startUntil(['phone', 'watch', '--dir', at('phone2')], /watching/);
    children.push(watch.child);
    const second = doorbell.press();
    await doorbell.run(3000);
    assert.ok(await doorbell.drain());
    await waitFor(() => watch.output().includes(`clip ${second}: fetched and checked`), 'watch fetches the new clip');
    assert.match(watch.output(), new RegExp(`clip ${second}: fetched and checked, 20 frames`));
    watch.child.kill('SIGTERM');

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
    await waitFor(() => rosters.load()!.roster.epoch === 3, 'the doorbell takes epoch 3', doorbell);
    assert.match(ok(await sealbell(['phone', 'status', '--dir', at('phone1')])), new RegExp(`doorbell ${deviceId}: acknowledged roster epoch 3 .*1 phone\\(s\\)[\\s\\S]*pending: none`));
    // the old passphrase enrolls nothing now
    const stale = await sealbell(['phone', 'enroll', '--dir', at('phone4'), '--relay', relayUrl, '--name', 'x'], { input: `${passphrase}\n` });
    assert.equal(stale.status, 1);
    assert.match(stale.stderr, /NO_ESCROW/);
    await waitFor(async () => {
      const r = await sealbell(['phone', 'clips', '--dir', at('phone2')]);
      return r.status === 1 && /PHONE_NOT_ALLOWED/.test(r.stderr);
    }, 'the relay shuts the revoked phone out', doorbell);
  });
});
