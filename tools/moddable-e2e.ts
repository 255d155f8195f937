/**
 * The Moddable simulator end to end, for real: builds the app with the SDK
 * (`mcconfig -m -p lin -t build`), runs it headless (xvfb-run), and drives it
 * with the `sealbell` command as a user would: `sealbell relay` on 127.0.0.1,
 * `sealbell provision` (the verifier goes into the simulator's state folder),
 * `sealbell phone init` and `sealbell phone setup` against the simulator's setup
 * endpoint; then it presses the simulator's button, waits for the clip at the
 * relay (`sealbell phone clips`), fetches it (`sealbell phone fetch`) and opens
 * the downloaded .age with Debian `age -d -i`. Then the phone watches live
 * (`sealbell phone live --seconds 3 --out live.mkv`, checked with ffprobe), and a
 * power cycle and long presses.
 *
 *   node dist/tools/moddable-e2e.js [--work DIR] [--seconds N] [--tls]
 *
 * With --tls the relay serves https/wss with a certificate from a throwaway test CA
 * (tools/test-ca.ts, openssl), setup hands the simulator that CA (`--relay-ca`), and after
 * the first clip the relay comes back with a certificate from another CA, then with the
 * impostor of the SDK's chain check (an attacker's self-signed certificate, then the genuine
 * one), then with a certificate from the right CA for another name: the simulator must refuse
 * each, keep its clip, and upload it once the right certificate is back.
 *
 * Logs, the build, the relay's data, the phone and the clip stay in the work folder.
 *
 * Needs $MODDABLE (an SDK with its Linux tools built), xvfb-run, age, ffprobe. Without $MODDABLE it says so and exits 0: it is not part
 * of `npm test` (CI has no SDK). Everything listens on 127.0.0.1 only, except the
 * simulator's setup listener, which the SDK binds on every interface.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { freePort, has, LineLog, progress, run, sleep, until } from './e2e-driver.js';
import { refuseThenRecover, type RefusalRig } from './e2e-refusal.js';
import { issueServerCert, makeImpostorChain, makeTestCa, type TestCa } from './test-ca.js';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');

interface Args {
  work?: string;
  seconds: number;
  tls: boolean;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { seconds: 600, tls: false };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--work') a.work = argv[++i];
    else if (argv[i] === '--seconds') a.seconds = Number(argv[++i]);
    else if (argv[i] === '--tls') a.tls = true;
    else throw new Error(`unknown argument ${argv[i]}`);
  }
  return a;
}

const say = progress('e2e');

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const moddable = process.env.MODDABLE;
  if (!moddable) {
    console.log('moddable-e2e: skipped: $MODDABLE is not set (point it at a Moddable SDK with its Linux tools built; see docs/moddable.md)');
    return 0;
  }
  const bin = path.join(moddable, 'build', 'bin', 'lin', 'release');
  for (const [tool, where] of [['mcconfig', path.join(bin, 'mcconfig')], ['mcsim', path.join(bin, 'mcsim')]] as const) {
    if (!fs.existsSync(where)) {
      console.log(`moddable-e2e: skipped: ${tool} is not built in ${bin} (build the SDK's Linux tools first)`);
      return 0;
    }
  }
  for (const tool of ['xvfb-run', 'age', 'ffprobe']) {
    if (!has(tool)) {
      console.log(`moddable-e2e: skipped: ${tool} is not installed (apt-get install xvfb xauth age ffmpeg)`);
      return 0;
    }
  }

  const work = args.work ?? fs.mkdtempSync(path.join(os.tmpdir(), 'sealbell-moddable-e2e-'));
  fs.mkdirSync(work, { recursive: true });
  const state = path.join(work, 'state') + '/';
  const buildDir = path.join(work, 'build');
  fs.rmSync(state, { recursive: true, force: true });
  fs.mkdirSync(state, { recursive: true });
  fs.mkdirSync(buildDir, { recursive: true });
  const setupPort = await freePort();
  // With --tls: a throwaway CA for the relay, and another one for a relay the doorbell must refuse;
  // also the impostor of the SDK's chain check (an attacker's own certificate, then
  // the genuine one) and a certificate from the right CA for another name.
  const tls = args.tls ? ((dir: string) => {
    const good = makeTestCa(dir, 'good');
    return {
      good,
      other: makeTestCa(dir, 'other'),
      impostor: makeImpostorChain(dir, 'impostor', good),
      wrongName: issueServerCert(dir, 'wrong-name', good, ['IP:10.9.9.9', 'DNS:relay.example']),
    };
  })(path.join(work, 'tls')) : undefined;
  const env = { ...process.env, MODDABLE: moddable, PATH: `${bin}:${path.join(ROOT, 'node_modules', '.bin')}:${process.env.PATH}` };
  say(`work folder ${work}`);

  // 1. Build the simulator app. Its state folder and setup port are build settings (mcconfig name=value).
  // simCamera=still: the still scene, so that camera motion sees the walk-by (PASS 4) and nothing else
  say(`build: mcconfig -m -p lin -t build -o ${buildDir} simState=${state} setupPort=${setupPort} simCamera=still`);
  run('mcconfig', ['-m', '-p', 'lin', '-t', 'build', '-o', buildDir, `simState=${state}`, `setupPort=${setupPort}`, 'simCamera=still'], { cwd: ROOT, env, log: path.join(work, 'build.log') });
  const app = path.join(buildDir, 'bin', 'lin', 'mc', 'release', 'sealbell', 'mc.so');
  if (!fs.existsSync(app)) throw new Error(`the build made no ${app}`);
  say(`build: ok (${app})`);

  const sealbellJs = path.join(ROOT, 'bin', 'sealbell.js');
  const adminToken = randomBytes(32).toString('base64url');
  const phoneDir = path.join(work, 'phone');
  /** `sealbell …` as a user runs it; secrets in its environment, never in its arguments. */
  const sealbell = (argv: string[], secrets: Record<string, string> = {}, hide?: RegExp): string => {
    say(`$ sealbell ${argv.join(' ')}`);
    const r = spawnSync(process.execPath, [sealbellJs, ...argv], { cwd: work, env: { ...env, ...secrets }, encoding: 'utf8', input: '' });
    for (const line of `${r.stdout}${r.stderr}`.trimEnd().split('\n')) if (line) console.log(`  cli | ${hide?.test(line) ? '    (passphrase shown here; not copied to this log)' : line}`);
    if (r.status !== 0) throw new Error(`sealbell ${argv[0]} ${argv[1] ?? ''} failed (exit ${r.status})`);
    return r.stdout;
  };

  let relayProc: ChildProcess | undefined;
  let sim: ChildProcess | undefined;
  const stop = async (child: ChildProcess | undefined): Promise<void> => {
    if (!child?.pid || child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise((r) => child.once('exit', r));
    process.kill(-child.pid, 'SIGTERM'); // the process group this script started
    await gone;
  };
  try {
    // 2. The relay, on loopback, as `sealbell relay` (with --tls: https/wss with the test CA's certificate).
    const relayPort = await freePort();
    const relayUrl = `${tls ? 'https' : 'http'}://127.0.0.1:${relayPort}`;
    const relayLog = new LineLog(path.join(work, 'relay.log'));
    const startRelay = async (cert?: TestCa): Promise<void> => {
      const argv = ['relay', '--port', String(relayPort), '--data', path.join(work, 'relay'), '--host', '127.0.0.1', ...(cert ? ['--tls-cert', cert.chain, '--tls-key', cert.key] : [])];
      say(`$ sealbell ${argv.join(' ')}   (SEALBELL_ADMIN_TOKEN in its environment)`);
      const mark = relayLog.lines.length;
      relayProc = spawn(process.execPath, [sealbellJs, ...argv], {
        env: { ...env, SEALBELL_ADMIN_TOKEN: adminToken },
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      relayProc.stdout!.setEncoding('utf8').on('data', (c: string) => relayLog.push(c));
      relayProc.stderr!.setEncoding('utf8').on('data', (c: string) => relayLog.push(c));
      say(`relay: ${(await relayLog.wait(/^relay: (http\S+)/, 30_000, 'the relay', mark))[1]}`);
    };
    await startRelay(tls?.good);

    // 3. Provisioning: the verifier record goes where the simulator reads it (its state folder).
    sealbell(['provision', '--out', path.join(work, 'factory')]);
    const label = fs.readFileSync(path.join(work, 'factory', 'setup-label.txt'), 'utf8');
    const qr = /QR:\s+(SB1:\S+)/.exec(label)?.[1];
    if (!qr) throw new Error('no QR payload on the setup label');
    fs.copyFileSync(path.join(work, 'factory', 'setup-verifier.bin'), path.join(state, 'setup-verifier.bin'));
    say(`provision: ${path.join(work, 'factory', 'setup-verifier.bin')} → ${state}setup-verifier.bin; QR text ${qr}`);

    // 4. The simulator, headless. mcsim copies the app under ~/.config and exits silently without it.
    fs.mkdirSync(path.join(os.homedir(), '.config'), { recursive: true });
    const log = new LineLog(path.join(work, 'sim.log'), 'sim');
    const startSim = (): ChildProcess => {
      const child = spawn('timeout', [String(args.seconds), 'xvfb-run', '-a', 'stdbuf', '-oL', path.join(bin, 'mcsim'), app], { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout!.setEncoding('utf8').on('data', (c: string) => log.push(c));
      child.stderr!.setEncoding('utf8').on('data', (c: string) => log.push(c));
      child.on('exit', (code) => say(`simulator ${child.pid} exited (${code})`));
      say(`simulator: pid ${child.pid}: timeout ${args.seconds} xvfb-run -a stdbuf -oL mcsim ${app}`);
      return child;
    };
    const press = async (what: 'press' | 'long' | 'walk-by', from: number): Promise<void> => {
      fs.writeFileSync(path.join(state, 'button'), `${what}\n`);
      say(`button: wrote "${what}" to ${state}button`);
      await log.wait(new RegExp(`sim: button file says "${what}"`), 10_000, 'the simulator to read the button file', from);
    };
    sim = startSim();
    const id = (await log.wait(/device id ([0-9A-F]{16})/, 60_000, 'the device id'))[1];
    await log.wait(/setup: endpoint listening on port (\d+)/, 30_000, 'the setup endpoint');
    const setupUrl = `http://127.0.0.1:${setupPort}/setup`;
    say(`simulator: device ${id}, setup endpoint ${setupUrl}`);

    // 5. The phone: a new account, then setup against the simulator (which also registers it on the relay).
    const init = sealbell(['phone', 'init', '--dir', phoneDir, '--name', 'e2e phone'], {}, /^ {4}\S/);
    const passphrase = /^ {4}(\S.*)$/m.exec(init)?.[1];
    if (!passphrase) throw new Error('phone init showed no passphrase');
    const secrets = { SEALBELL_PASSPHRASE: passphrase, SEALBELL_ADMIN_TOKEN: adminToken, SEALBELL_WIFI_PASSWORD: 'simulator wifi' };
    const setupOut = sealbell(['phone', 'setup', '--dir', phoneDir, '--endpoint', setupUrl, '--code', qr, '--ssid', 'simulator', '--relay', relayUrl, ...(tls ? ['--relay-ca', tls.good.ca] : [])], secrets);
    if (!setupOut.includes(`doorbell ${id} set up`)) throw new Error(`phone setup did not set up the simulator's doorbell ${id}`);
    await log.wait(/uplink: relay /, 30_000, 'the doorbell to start its uplink');

    // 6. The doorbell connects and tells the relay its roster: then the phone can list its clips.
    const clipsOf = (): string | undefined => {
      const r = spawnSync(process.execPath, [sealbellJs, 'phone', 'clips', '--dir', phoneDir], { cwd: work, env, encoding: 'utf8' });
      return r.status === 0 ? r.stdout : undefined;
    };
    await until('the phone to be let in (the doorbell tells the relay its roster)', 90_000, async () => clipsOf());
    say('phone: `sealbell phone clips` works: the relay lets this phone in');
    await log.wait(/ready: \d+ clip header\(s\) prepared/, 120_000, 'clip headers prepared');

    /** codec, width, height and frame count of a video file, by ffprobe. */
    const probe = (file: string): string[] => {
      const r = spawnSync('ffprobe', ['-v', 'error', '-count_frames', '-select_streams', 'v:0', '-show_entries', 'stream=codec_name,width,height,nb_read_frames', '-of', 'csv=p=0', file], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`ffprobe cannot read ${file}: ${r.stderr.trim()}`);
      return r.stdout.trim().split(',');
    };

    const liveView = async (): Promise<void> => {
      const mark = log.lines.length;
      const out = path.join(work, 'downloads', 'live.mkv');
      fs.mkdirSync(path.dirname(out), { recursive: true });
      fs.rmSync(out, { force: true });
      const said = sealbell(['phone', 'live', '--dir', phoneDir, '--seconds', '3', '--out', out]);
      const frames = Number(/live: (\d+) frames decrypted into/.exec(said)?.[1]);
      await log.wait(/live \S+: started for /, 10_000, 'the simulator to start the live session', mark);
      await log.wait(/live \S+: (the phone left|ended)/, 10_000, 'the simulator to end the live session', mark);
      const [codec, width, height, counted] = probe(out);
      say(`ffprobe ${out}: ${codec},${width},${height},${counted} (codec,width,height,frames); the phone said ${frames} frames`);
      // 3 s at the simulator's 10 fps, less the session's start
      if (codec !== 'mjpeg' || width !== '160' || height !== '120' || Number(counted) !== frames || frames < 10) throw new Error('live view did not give the frames');
      if (log.lines.slice(mark).some((l) => /button: clip/.test(l))) throw new Error('a clip recorded during the live check');
    };

    // 7. A press, and the clip through the relay to the phone.
    const identity = path.join(phoneDir, 'identity.key');
    const pressAndFetch = async (trigger: 'press' | 'walk-by' = 'press'): Promise<string> => {
      const mark = log.lines.length;
      await press(trigger, mark);
      const clipId = (await log.wait(trigger === 'press' ? /button: clip (\S+)/ : /clip (\S+): recording \(motion/, 30_000, trigger === 'press' ? 'the press' : 'camera motion to start a clip', mark))[1];
      await log.wait(new RegExp(`clip ${clipId}: done`), 60_000, 'the clip to finish', mark);
      say(`clip ${clipId}: recorded`);
      await until(`clip ${clipId} verified at the relay`, 120_000, async () => (clipsOf()?.includes(`${clipId}  verified`) ? true : undefined));
      sealbell(['phone', 'clips', '--dir', phoneDir]);
      const mkv = path.join(work, 'downloads', `${clipId}.mkv`);
      fs.mkdirSync(path.dirname(mkv), { recursive: true });
      sealbell(['phone', 'fetch', clipId, '--dir', phoneDir, '--out', mkv]);
      // The same clip, opened by Debian age with the phone's identity file.
      const age = path.join(phoneDir, 'clips', `${clipId}.age`);
      const byAge = path.join(work, 'downloads', `${clipId}.age-d.mkv`);
      run('age', ['-d', '-i', identity, '-o', byAge, age]);
      // phone fetch writes the same video made seekable (Duration, Cues): the same frames, not the same bytes
      const same = probe(byAge).join(',') === probe(mkv).join(',');
      say(`$ age -d -i ${identity} -o ${byAge} ${age}: ok, ${fs.statSync(byAge).size} bytes, ${same ? 'the same frames as the seekable file sealbell phone fetch wrote' : 'NOT the frames sealbell phone fetch wrote'}`);
      if (!same || fs.readFileSync(byAge).subarray(0, 4).toString('hex') !== '1a45dfa3') throw new Error('age -d did not give the clip');
      say(`ffprobe: ${probe(byAge).join(',')} (codec,width,height,frames)`);
      return clipId;
    };
    await pressAndFetch();
    say(`PASS 1: simulator setup with sealbell phone setup → press → relay${tls ? ' (wss://, the CA from setup)' : ''} → phone → age -d`);

    if (tls) {
      // The relay's address presents a certificate the doorbell must refuse (tools/e2e-refusal.ts).
      const rig: RefusalRig = {
        device: 'the simulator',
        log,
        restartRelay: async (cert) => {
          await stop(relayProc);
          await startRelay(cert);
        },
        good: tls.good,
        press: (from) => press('press', from),
        clipsOf,
        bound: 120_000,
        every: 500,
        say,
      };
      await refuseThenRecover(rig, tls.other, 'a certificate from another CA', 'PASS 1b');
      await refuseThenRecover(rig, tls.impostor, "an attacker's self-signed certificate followed by the genuine relay certificate", 'PASS 1c');
      await refuseThenRecover(rig, tls.wrongName, 'a certificate from the setup CA for another name', 'PASS 1d');
    }

    // 8. Live view: the phone watches for 3 s through the relay, with no clip recording.
    await liveView();
    say('PASS 2: sealbell phone live → relay → simulator: decrypted frames in a file ffprobe reads');

    // 8. Power cycle: the same state folder. The doorbell comes back set up and online.
    await stop(sim);
    let mark = log.lines.length;
    sim = startSim();
    const again = (await log.wait(/device id ([0-9A-F]{16})/, 60_000, 'the device id after the restart', mark))[1];
    if (again !== id) throw new Error(`after a restart the device is ${again}, not ${id}`);
    await log.wait(/uplink: relay /, 30_000, 'the uplink after the restart', mark);
    await log.wait(/ready: \d+ clip header\(s\) prepared/, 120_000, 'clip headers after the restart', mark);
    await pressAndFetch();
    say('PASS 3: after a restart, still set up: press → relay → phone → age -d');

    // 10. Camera motion: the owner turns it on with signed settings; someone walks across the picture.
    mark = log.lines.length;
    sealbell(['phone', 'settings', '--dir', phoneDir, '--device', id, '--zones', 'AAAA/AAAA/AAAA'], secrets);
    await log.wait(/settings epoch \d+: .*motion AAAA\/AAAA\/AAAA/, 120_000, 'the simulator to take the signed settings', mark);
    // the still scene for a second or two first: the detector's background (5 frames at 10 fps) and the pre-roll
    await sleep(2000);
    if (log.lines.slice(mark).some((l) => /recording \(motion/.test(l))) throw new Error('the still scene started a motion clip');
    const motionClip = await pressAndFetch('walk-by');
    const manifest = JSON.parse(fs.readFileSync(path.join(phoneDir, 'clips', `${motionClip}.manifest.json`), 'utf8')) as { trigger?: string; zones?: string[]; preRoll?: number; frames?: number };
    say(`clip ${motionClip}: manifest trigger ${manifest.trigger}, zones ${JSON.stringify(manifest.zones)}, pre-roll ${manifest.preRoll} ms, ${manifest.frames} frames`);
    if (manifest.trigger !== 'motion' || !manifest.zones?.includes('A')) throw new Error('the walk-by clip does not say it was camera motion in zone A');
    // the still scene ran for two seconds and more before the walk: the clip starts before it
    if (!(manifest.preRoll! >= 1000)) throw new Error(`the walk-by clip holds ${manifest.preRoll} ms of pre-roll`);
    say('PASS 4: signed settings turned camera motion on (natively decoded frames); a walk-by → clip (trigger motion, zone A) → relay → phone → age -d');

    // 9. Long press: setup reopens; a long press while it is open is a factory reset.
    mark = log.lines.length;
    await press('long', mark);
    await log.wait(/setup: window open/, 10_000, 'setup to reopen', mark);
    mark = log.lines.length;
    await press('long', mark);
    await log.wait(/factory reset: identity, roster and settings wiped/, 10_000, 'the factory reset', mark);
    const fresh = (await log.wait(/device id ([0-9A-F]{16})/, 30_000, 'a new identity', mark))[1];
    await log.wait(/setup: endpoint listening/, 10_000, 'setup for a new owner', mark);
    if (fresh === id) throw new Error('the factory reset kept the identity');
    say(`PASS 5: long press reopened setup; a second one reset the doorbell (new device id ${fresh}, setup open)`);
    return 0;
  } finally {
    await stop(sim);
    await stop(relayProc);
    say(`work folder: ${work} (build.log, sim.log, relay.log, relay/, factory/, phone/, downloads/)`);
  }
}

main().then(
  (code) => process.exit(code),
  (e) => {
    say(`FAIL: ${(e as Error).message}`);
    process.exit(1);
  },
);
