// Commands a person can trust (issue 13), as a person sees them: secrets typed at a
// terminal are never shown; a setup whose relay was down is finished later by command;
// `phone watch` says when the relay goes away and carries on when it is back; one broken
// doorbell does not hide the others; every failure is one clear line and a non-zero status.
// Every command is the real `sealbell` in a child process, on loopback. The doorbell is the
// hosted simulator in this process, driven as test/cli-flow.test.ts drives it.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { PNG } from 'pngjs';
import jsQRModule from 'jsqr';
import { NodeDoorbell } from '../hosts/node/doorbell.js';
import { RosterStore } from '../src/roster/roster-store.js';
import { newToken } from '../tools/relay/tokens.js';
import { writeDevice } from '../tools/phone/state.js';
import { describeFailure } from '../tools/cli-errors.js';
import { tempDir } from './helpers.js';
import { failsWithOneLine, freePort, ok, onTerminal, sealbell, start, type Running } from './sealbell-cli.js';

// jsqr is CommonJS: under Node's ESM interop the default import is the function itself.
const jsQR = jsQRModule as unknown as typeof jsQRModule.default;

/** Polls `done`, letting the doorbell's I/O and clock run, for up to 60 s of real time. */
async function waitFor(done: () => boolean | Promise<boolean>, what: string, doorbell?: NodeDoorbell): Promise<void> {
  const end = Date.now() + 60_000;
  if (doorbell) return doorbell.until(done, what);
  while (!(await done())) {
    if (Date.now() > end) assert.fail(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const PASSPHRASE_LINE = /^ {4}((?:[a-z]+ ){11}[a-z]+)\r?$/m;

describe('commands a person can trust', function () {
  this.timeout(300_000);
  const dir = tempDir('commands');
  const at = (...p: string[]) => path.join(dir, ...p);
  const adminToken = newToken();
  const wifiPassword = 'correct horse wifi 42';
  let relayPort = 0;
  let relayUrl = '';
  let relay: Running | undefined;
  let doorbell: NodeDoorbell;
  let setupUrl = '';
  let qrText = '';
  let passphrase = '';
  let deviceId = '';
  const running: Running[] = [];
  const doorbellLog: string[] = [];
  const secrets = () => ({ SEALBELL_PASSPHRASE: passphrase, SEALBELL_ADMIN_TOKEN: adminToken });
  const relays: Running[] = [];
  /** The relay, logging JSON lines (the second start onwards; the first logs text). */
  const startRelay = async () => {
    const json = relays.length > 0;
    relay = start(['relay', '--port', String(relayPort), '--data', at('relay'), ...(json ? ['--log-format', 'json'] : [])], { SEALBELL_ADMIN_TOKEN: adminToken });
    running.push(relay);
    relays.push(relay);
    await relay.until(json ? /"event":"start","msg":"listening on http:\/\/127\.0\.0\.1:\d+/ : /relay: http:\/\/127\.0\.0\.1:\d+/, 'the relay to listen');
  };
  const stopRelay = async () => {
    relay!.child.kill('SIGKILL');
    await relay!.exited;
  };
  /** A clip recorded by the doorbell and handed to the relay. */
  const recordClip = async (): Promise<string> => {
    await waitFor(() => doorbell.app.uplink?.state === 'ready', 'the doorbell connects to the relay', doorbell);
    const pool = doorbell.app.doorbell.pool;
    await doorbell.runUntil(() => pool.available === pool.size, 'clip headers prepared');
    const clip = doorbell.press();
    assert.ok(clip, 'the press starts a clip');
    await doorbell.runUntil(() => !doorbell.app.doorbell.recording, 'the clip records');
    await doorbell.drain();
    return clip;
  };

  before(async () => {
    ok(await sealbell(['provision', '--out', at('factory')]));
    const png = PNG.sync.read(fs.readFileSync(at('factory', 'setup-qr.png')));
    qrText = jsQR(new Uint8ClampedArray(png.data), png.width, png.height)!.data;
    relayPort = await freePort();
    relayUrl = `http://127.0.0.1:${relayPort}`;
    doorbell = new NodeDoorbell({ state: at('device'), verifier: new Uint8Array(fs.readFileSync(at('factory', 'setup-verifier.bin'))), clipSeconds: 2, simulatedStart: Date.now(), log: (line) => doorbellLog.push(line) });
    doorbell.boot();
    setupUrl = await doorbell.setupUrl();
  });
  after(async () => {
    for (const r of running) r.child.kill('SIGKILL');
    await doorbell?.stop();
  });

  it('phone init on a terminal: the passphrase is shown once and typed back unseen; a wrong one is refused', async () => {
    const { status, screen } = await onTerminal(
      ['phone', 'init', '--dir', at('phone1')],
      [
        [/Type it back/, 'this is not it'],
        [/2 tries left[\s\S]*Type it back/, (s) => s.match(PASSPHRASE_LINE)![1]],
      ],
    );
    assert.equal(status, 0, screen);
    passphrase = screen.match(PASSPHRASE_LINE)![1];
    assert.equal(screen.split(passphrase).length - 1, 1, `the passphrase is on the screen once (shown), never echoed:\n${screen}`);
    assert.doesNotMatch(screen, /this is not it/);
    assert.match(screen, /sealing the escrow .*scrypt/);
    assert.match(screen, /account made in/);
    assert.ok(fs.existsSync(at('phone1', 'escrow.age')));
  });

  it('phone init on a terminal writes nothing when the passphrase is not confirmed', async () => {
    const { status, screen } = await onTerminal(
      ['phone', 'init', '--dir', at('phone-unconfirmed')],
      [
        [/Type it back/, 'one'],
        [/2 tries left[\s\S]*Type it back/, 'two'],
        [/1 try left[\s\S]*Type it back/, 'three'],
      ],
    );
    assert.equal(status, 1, screen);
    assert.match(screen, /nothing was written.*\[PASSPHRASE_MISMATCH\]/);
    assert.ok(!fs.existsSync(at('phone-unconfirmed', 'escrow.age')));
  });

  it('Ctrl-C at a secret prompt cancels with one line, and Backspace edits unseen', async () => {
    const cancelled = await onTerminal(['phone', 'revoke', '--dir', at('phone1'), '--phone', 'x'], [[/Enter passphrase \(not shown\)/, 'typed so far\u0003']]);
    assert.equal(cancelled.status, 1, cancelled.screen);
    assert.match(cancelled.screen, /sealbell phone: cancelled \[CANCELLED\]/);
    assert.doesNotMatch(cancelled.screen, /typed so far/);
    // A typo corrected with Backspace: the passphrase still opens the escrow (revoking a phone that is not there).
    const edited = await onTerminal(['phone', 'revoke', '--dir', at('phone1'), '--phone', 'nobody'], [[/Enter passphrase \(not shown\)/, `${passphrase}x\u007f`]]);
    assert.match(edited.screen, /opening the escrow/);
    assert.doesNotMatch(edited.screen, /AGE_PASSPHRASE|PASSPHRASE_TYPO/);
    assert.ok(!edited.screen.includes(passphrase));
  });

  it('phone setup on a terminal with the relay down: no secret is shown; the doorbell is set up and the command says how to finish', async () => {
    const { status, screen } = await onTerminal(
      ['phone', 'setup', '--dir', at('phone1'), '--endpoint', setupUrl, '--code', qrText, '--ssid', 'Home', '--relay', relayUrl],
      [
        [/Enter passphrase \(not shown\)/, passphrase],
        [/Enter relay admin token \(not shown\)/, adminToken],
        [/Enter Wi-Fi password \(not shown\)/, wifiPassword],
      ],
    );
    assert.equal(status, 1, screen);
    for (const secret of [passphrase, adminToken, wifiPassword]) assert.ok(!screen.includes(secret), `a secret was shown:\n${screen}`);
    assert.match(screen, /opening the escrow \(scrypt/);
    deviceId = screen.match(/doorbell ([0-9A-F]{16}) set up;/)![1];
    assert.match(screen, new RegExp(`doorbell ${deviceId} is set up but not registered: cannot reach the relay \\(ECONNREFUSED\\)`));
    assert.match(screen, new RegExp(`sealbell phone register --dir \\S+ --device ${deviceId}`));
    assert.doesNotMatch(screen, /^\s+at /m);
  });

  it('phone register finishes that setup once the relay is up (and is safe to repeat)', async () => {
    await startRelay();
    // The doorbell says what it waits for, then that it is connected.
    await waitFor(() => doorbellLog.some((l) => /uplink: the relay does not know this doorbell yet \(HTTP 401\): waiting for the owner's phone to register it/.test(l)), 'the doorbell to say it waits for registration', doorbell);
    const first = ok(await sealbell(['phone', 'register', '--dir', at('phone1')], { env: secrets() }));
    assert.match(first, new RegExp(`doorbell ${deviceId}: registered on ${relayUrl}; escrow uploaded`));
    const again = ok(await sealbell(['phone', 'register', '--dir', at('phone1'), '--device', deviceId], { env: secrets() }));
    assert.match(again, /already registered on/);
    const clip = await recordClip();
    assert.ok(doorbellLog.some((l) => /uplink: connected to the relay/.test(l)));
    assert.match(ok(await sealbell(['phone', 'clips', '--dir', at('phone1')])), new RegExp(`${clip}\\s+verified`));
  });

  it('phone fetch writes a 0600 .mkv, refuses to overwrite without --force, and refuses other names', async () => {
    const clip = (ok(await sealbell(['phone', 'clips', '--dir', at('phone1')])).match(/^ {2}(?:#\d+ {2})?(\S+)\s+verified/m) ?? [])[1];
    assert.ok(clip);
    assert.match(ok(await sealbell(['phone', 'fetch', clip, '--dir', at('phone1'), '--out', at('door')])), /decrypted to .*door\.mkv/);
    assert.equal(fs.statSync(at('door.mkv')).mode & 0o777, 0o600);
    failsWithOneLine(await sealbell(['phone', 'fetch', clip, '--dir', at('phone1'), '--out', at('door.mkv')]), /door\.mkv already exists: .*--force.*\[OUT_EXISTS\]/);
    ok(await sealbell(['phone', 'fetch', clip, '--dir', at('phone1'), '--out', at('door.mkv'), '--force']));
    failsWithOneLine(await sealbell(['phone', 'fetch', clip, '--dir', at('phone1'), '--out', at('door.avi')]), /Matroska.*\.mkv, not \.avi \[OUT_FORMAT\]/);
    assert.ok(!fs.existsSync(at('door.avi')));
  });

  it('phone watch says when the relay goes away, reconnects when it is back, and fetches the clip it missed', async () => {
    const watch = start(['phone', 'watch', '--dir', at('phone1')]);
    running.push(watch);
    await watch.until(/watching for new clips/);
    await stopRelay();
    await watch.until(/lost the relay|cannot reach the relay/, 'the watch to report the outage');
    await watch.until(/cannot reach the relay \(ECONNREFUSED\); trying again in \d+ s/, 'the watch to retry');
    assert.equal(watch.child.exitCode, null, 'the watch is still running');
    await startRelay();
    // The doorbell spools while the relay is down; the clip reaches the relay once it is back.
    const missed = await recordClip();
    await watch.until(/reconnected to the relay; watching again/, 'the watch to reconnect');
    await watch.until(new RegExp(`clip ${missed}: fetched and checked, \\d+ frames`), 'the watch to fetch the clip');
    watch.child.kill('SIGTERM');
    assert.equal(await watch.exited, 0);
    assert.match(watch.output(), /stopped watching/);
  });

  it('one broken doorbell does not stop phone clips for the others: each says its own', async () => {
    // A second doorbell whose relay is gone for good.
    writeDevice(at('phone1'), { deviceId: '0123456789ABCDEF', publicKeyText: fs.readFileSync(at('phone1', 'devices', deviceId, 'device.pub'), 'utf8'), relayUrl: `http://127.0.0.1:${await freePort()}` });
    const r = await sealbell(['phone', 'clips', '--dir', at('phone1')]);
    assert.equal(r.status, 1);
    assert.match(r.stdout, new RegExp(`doorbell ${deviceId}: \\d+ clip\\(s\\)`));
    assert.match(r.stderr, /doorbell 0123456789ABCDEF: cannot list its clips: cannot reach the relay or doorbell: connection refused/);
    assert.match(r.stderr, /1 of 2 doorbell\(s\) could not be listed .*\[CLIPS_PARTIAL\]/);
    fs.rmSync(at('phone1', 'devices', '0123456789ABCDEF'), { recursive: true });
  });

  it('a phone enrolled later is told that a clip from before it joined opens with --history', async () => {
    const clip = ok(await sealbell(['phone', 'clips', '--dir', at('phone1')])).match(/^ {2}(?:#\d+ {2})?(\S+)\s+verified/m)![1];
    const enrolled = await sealbell(['phone', 'enroll', '--dir', at('phone2'), '--relay', relayUrl, '--name', 'tablet'], { env: secrets() });
    assert.match(ok(enrolled), new RegExp(`${deviceId} epoch 2`));
    assert.match(enrolled.stderr, /opening the escrow \(scrypt, a few seconds\)/);
    const rosters = new RosterStore(doorbell.store, deviceId);
    await waitFor(() => rosters.load()!.roster.epoch === 2, 'the doorbell takes epoch 2', doorbell);
    failsWithOneLine(await sealbell(['phone', 'fetch', clip, '--dir', at('phone2'), '--out', at('old.mkv')]), /\. A clip from before this phone joined opens with --history .*\[NO_IDENTITY\]$/);
  });

  it('phone watch ends with one clear line and a non-zero status when it cannot go on (the phone was revoked)', async () => {
    assert.match(ok(await sealbell(['phone', 'revoke', '--dir', at('phone1'), '--phone', 'tablet'], { env: secrets() })), /epoch 3 published/);
    const rosters = new RosterStore(doorbell.store, deviceId);
    await waitFor(() => rosters.load()!.roster.epoch === 3, 'the doorbell takes epoch 3', doorbell);
    const watch = start(['phone', 'watch', '--dir', at('phone2')]);
    running.push(watch);
    assert.equal(await watch.exited, 1);
    assert.match(watch.output(), new RegExp(`doorbell ${deviceId}: giving up: .*not allowed`));
    assert.match(watch.output(), /\nsealbell phone: the relay refused: .*\[PHONE_NOT_ALLOWED\]\n$/);
    assert.doesNotMatch(watch.output(), /^\s+at /m);
  });

  it('the relay logs one line per connection, upload, refusal and roster change, as JSON with --log-format json, without secrets', async () => {
    const refused = await fetch(`${relayUrl}/v1/devices/${deviceId}/clips`);
    assert.equal(refused.status, 401);
    // This refusal's own line: the revoked phone's refusals of the test before are logged too.
    const line = `refused GET /v1/devices/${deviceId}/clips from 127.0.0.1: 401 UNAUTHENTICATED`;
    await waitFor(() => relay!.output().includes(JSON.stringify(line)), 'the refusal is logged');
    const text = relays[0].output();
    assert.match(text, /^relay: connection from 127\.0\.0\.1:\d+$/m);
    assert.match(text, new RegExp(`^relay: device ${deviceId} connected \\(uplink\\)$`, 'm'));
    assert.match(text, new RegExp(`^relay: device ${deviceId}: clip \\S+ verified \\(\\d+ segments\\)$`, 'm'));
    assert.match(text, new RegExp(`^relay: device ${deviceId} holds roster epoch 1`, 'm'));
    assert.match(text, /^relay: a phone is following device /m);
    const lines = relays.slice(1).flatMap((r) => r.output().trim().split('\n'));
    const events = lines.map((l) => JSON.parse(l) as { time: string; event: string; msg: string });
    for (const e of events) assert.ok(!Number.isNaN(Date.parse(e.time)) && typeof e.msg === 'string');
    const kinds = new Set(events.map((e) => e.event));
    for (const k of ['start', 'connection', 'upload', 'refused', 'roster']) assert.ok(kinds.has(k), `a "${k}" line in:\n${lines.join('\n')}`);
    assert.ok(events.some((e) => e.event === 'refused' && e.msg === line));
    for (const r of relays) for (const secret of [adminToken, passphrase]) assert.ok(!r.output().includes(secret), 'no secret in the relay log');
  });

  describe('each failure is one clear line and a non-zero status', () => {
    it('a port in use (relay, phone serve): says which, and the relay makes no data folder', async () => {
      failsWithOneLine(await sealbell(['relay', '--port', String(relayPort), '--data', at('relay-2')]), new RegExp(`port ${relayPort} on 127\\.0\\.0\\.1 is already in use`));
      assert.ok(!fs.existsSync(at('relay-2')), 'no data folder or admin token before the port is bound');
      failsWithOneLine(await sealbell(['phone', 'serve', '--port', String(relayPort), '--relay', `http://127.0.0.1:${relayPort}`]), new RegExp(`port ${relayPort} on 127\\.0\\.0\\.1 is already in use`));
    });

    it('a mistyped --dir: no such folder', async () => {
      for (const sub of ['clips', 'watch', 'register']) {
        failsWithOneLine(await sealbell(['phone', sub, '--dir', at('phnoe1')], { env: secrets() }), /no such folder: .*phnoe1 .*\[NO_SUCH_DIR\]/);
      }
    });

    it('a setup code typo is caught by its check digit before the passphrase is asked for', async () => {
      const digits = qrText.split(':')[1];
      const typo = `${digits.slice(0, 11)}${(Number(digits[11]) + 1) % 10}`;
      // No passphrase anywhere: the code is refused first.
      failsWithOneLine(await sealbell(['phone', 'setup', '--dir', at('phone1'), '--endpoint', setupUrl, '--code', typo, '--ssid', 'x', '--relay', relayUrl]), /\[SETUP_CODE\]/);
    });

    it('the relay unreachable', async () => {
      await stopRelay();
      failsWithOneLine(await sealbell(['phone', 'clips', '--dir', at('phone1')]), /cannot reach the relay or doorbell: connection refused/);
      await startRelay();
    });

    it('usage errors exit 2 with the usage; help and --version go to stdout', async () => {
      const r = await sealbell(['relay', '--prot', '1']);
      assert.equal(r.status, 2);
      assert.match(r.stderr, /^sealbell relay: Unknown option '--prot'/);
      assert.equal((await sealbell(['nonsense'])).status, 2);
      const help = await sealbell(['help']);
      assert.equal(help.status, 0);
      assert.match(help.stdout, /^usage: sealbell/);
      assert.equal(help.stderr, '');
      assert.match(ok(await sealbell(['--version'])), /^sealbell \d+\.\d+\.\d+\n$/);
    });

    it('a full disk, a refused file and an unknown error: one line each (and the stack only with SEALBELL_DEBUG=1)', async () => {
      const enospc = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', syscall: 'write', path: '/data/x' });
      assert.match(describeFailure(enospc).message, /^the disk is full \(no space left writing \/data\/x\)/);
      const eacces = Object.assign(new Error('EACCES'), { code: 'EACCES', syscall: 'open', path: '/etc/x' });
      assert.equal(describeFailure(eacces).message, 'permission denied: /etc/x');
      const debug = await sealbell(['phone', 'clips', '--dir', at('nowhere')], { env: { SEALBELL_DEBUG: '1' } });
      assert.equal(debug.status, 1);
      assert.match(debug.stderr, /^sealbell phone: no such folder: .*\n[\s\S]*^\s+at /m, 'SEALBELL_DEBUG=1 adds the stack');
      const odd = describeFailure(new Error('something odd\n    at somewhere (file.js:1:1)'));
      assert.equal(odd.message, 'unexpected error: something odd (SEALBELL_DEBUG=1 shows details)');
      assert.equal(odd.status, 1);
    });
  });
});
