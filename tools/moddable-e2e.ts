/**
 * The Moddable simulator end to end, for real: builds the app with the SDK
 * (`mcconfig -m -p lin -t build`), runs it headless (xvfb-run), and from Node
 * starts a relay on 127.0.0.1, provisions the doorbell, runs phone init and
 * phone setup against the simulator's setup endpoint, presses its button, waits
 * for the clip at the relay, downloads it as the phone and opens it with Debian
 * `age -d -i`.
 *
 *   node dist/tools/moddable-e2e.js [--work DIR] [--seconds N]
 *
 * Logs, the build, the relay's data, the phone and the clip stay in the work folder.
 *
 * Needs $MODDABLE (an SDK with its Linux tools built), xvfb-run, age; ffprobe
 * is used when present. Without $MODDABLE it says so and exits 0: it is not part
 * of `npm test` (CI has no SDK). Everything listens on 127.0.0.1 only, except the
 * simulator's setup listener, which the SDK binds on every interface.
 */
import fs from 'node:fs';
import os from 'node:os';
import net from 'node:net';
import path from 'node:path';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { startRelay, type Relay } from './relay/server.js';
import { provision } from './provision.js';
import { phoneInit, phoneSetup, unlockAccount } from './phone/index.js';
import { phoneLogin, registerOnRelay } from './phone/relay-sync.js';
import { RelayApiError } from './relay/phone-client.js';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');

interface Args {
  work?: string;
  seconds: number;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { seconds: 600 };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--work') a.work = argv[++i];
    else if (argv[i] === '--seconds') a.seconds = Number(argv[++i]);
    else throw new Error(`unknown argument ${argv[i]}`);
  }
  return a;
}

const has = (tool: string) => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const t0 = Date.now();
function say(line: string): void {
  console.log(`[e2e ${((Date.now() - t0) / 1000).toFixed(1).padStart(6)} s] ${line}`);
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** The simulator's log, line by line, with waiting for a line. */
class SimLog {
  readonly lines: string[] = [];
  private waiters: { re: RegExp; from: number; resolve: (m: RegExpMatchArray) => void }[] = [];
  private partial = '';

  constructor(
    private readonly file: string,
    private readonly echo: boolean,
  ) {}

  push(chunk: string): void {
    fs.appendFileSync(this.file, chunk);
    const parts = (this.partial + chunk).split('\n');
    this.partial = parts.pop() ?? '';
    for (const line of parts) {
      this.lines.push(line);
      if (this.echo) console.log(`  sim | ${line}`);
      for (const w of [...this.waiters]) {
        const m = this.match(w.re, w.from);
        if (m) {
          this.waiters = this.waiters.filter((x) => x !== w);
          w.resolve(m);
        }
      }
    }
  }

  private match(re: RegExp, from: number): RegExpMatchArray | undefined {
    for (let i = from; i < this.lines.length; i++) {
      const m = re.exec(this.lines[i]);
      if (m) return m;
    }
    return undefined;
  }

  /** Waits for a line matching `re` (from line `from` on). */
  async wait(re: RegExp, ms: number, what: string, from = 0): Promise<RegExpMatchArray> {
    const found = this.match(re, from);
    if (found) return found;
    return new Promise((resolve, reject) => {
      const w = { re, from, resolve: (m: RegExpMatchArray) => (clearTimeout(timer), resolve(m)) };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((x) => x !== w);
        reject(new Error(`timed out after ${ms / 1000} s waiting for ${what}`));
      }, ms);
      this.waiters.push(w);
    });
  }
}

async function until<T>(what: string, ms: number, probe: () => Promise<T | undefined>): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    await sleep(500);
  }
  throw new Error(`timed out waiting for ${what}${last ? ` (last: ${(last as Error).message})` : ''}`);
}

function run(cmd: string, args: string[], o: { cwd?: string; env?: NodeJS.ProcessEnv; log?: string } = {}): void {
  const r = spawnSync(cmd, args, { cwd: o.cwd, env: o.env, encoding: 'utf8', maxBuffer: 1 << 28 });
  if (o.log) fs.writeFileSync(o.log, `${r.stdout ?? ''}${r.stderr ?? ''}`);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.status})${o.log ? `; see ${o.log}` : `:\n${r.stderr}`}`);
}

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
  for (const tool of ['xvfb-run', 'age']) {
    if (!has(tool)) {
      console.log(`moddable-e2e: skipped: ${tool} is not installed (apt-get install xvfb xauth age)`);
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
  const env = { ...process.env, MODDABLE: moddable, PATH: `${bin}:${path.join(ROOT, 'node_modules', '.bin')}:${process.env.PATH}` };
  say(`work folder ${work}`);

  // 1. Build the simulator app. Its state folder and setup port are build settings (mcconfig name=value).
  say(`build: mcconfig -m -p lin -t build -o ${buildDir} simState=${state} setupPort=${setupPort}`);
  run('mcconfig', ['-m', '-p', 'lin', '-t', 'build', '-o', buildDir, `simState=${state}`, `setupPort=${setupPort}`], { cwd: ROOT, env, log: path.join(work, 'build.log') });
  const app = path.join(buildDir, 'bin', 'lin', 'mc', 'release', 'sealbell', 'mc.so');
  if (!fs.existsSync(app)) throw new Error(`the build made no ${app}`);
  say(`build: ok (${app})`);

  let relay: Relay | undefined;
  let sim: ChildProcess | undefined;
  try {
    // 2. The relay, on loopback.
    const adminToken = randomBytes(32).toString('base64url');
    relay = await startRelay({ port: 0, host: '127.0.0.1', dataDir: path.join(work, 'relay'), adminToken, log: (l) => fs.appendFileSync(path.join(work, 'relay.log'), `${l}\n`) });
    say(`relay: ${relay.url}`);

    // 3. Provisioning: the verifier record goes where the simulator reads it (its state folder).
    const prov = await provision({ out: path.join(work, 'factory') });
    fs.copyFileSync(prov.verifierPath, path.join(state, 'setup-verifier.bin'));
    say(`provision: code ${prov.manualCode}; ${prov.verifierPath} → ${state}setup-verifier.bin`);

    // 4. The simulator, headless. mcsim copies the app under ~/.config and exits silently without it.
    fs.mkdirSync(path.join(os.homedir(), '.config'), { recursive: true });
    const log = new SimLog(path.join(work, 'sim.log'), true);
    const startSim = (): ChildProcess => {
      const child = spawn('timeout', [String(args.seconds), 'xvfb-run', '-a', 'stdbuf', '-oL', path.join(bin, 'mcsim'), app], { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout!.setEncoding('utf8').on('data', (c: string) => log.push(c));
      child.stderr!.setEncoding('utf8').on('data', (c: string) => log.push(c));
      child.on('exit', (code) => say(`simulator ${child.pid} exited (${code})`));
      say(`simulator: pid ${child.pid}: timeout ${args.seconds} xvfb-run -a stdbuf -oL mcsim ${app}`);
      return child;
    };
    const stopSim = async (child: ChildProcess): Promise<void> => {
      if (child.exitCode !== null || child.signalCode !== null || !child.pid) return;
      const gone = new Promise((r) => child.once('exit', r));
      process.kill(-child.pid, 'SIGTERM'); // the process group this script started
      await gone;
    };
    const press = async (what: 'press' | 'long', from: number): Promise<void> => {
      fs.writeFileSync(path.join(state, 'button'), `${what}\n`);
      say(`button: wrote "${what}" to ${state}button`);
      await log.wait(new RegExp(`sim: button file says "${what}"`), 10_000, 'the simulator to read the button file', from);
    };
    sim = startSim();
    const id = (await log.wait(/device id ([0-9A-F]{16})/, 60_000, 'the device id'))[1];
    await log.wait(/setup: endpoint listening on port (\d+)/, 30_000, 'the setup endpoint');
    const setupUrl = `http://127.0.0.1:${setupPort}/setup`;
    say(`simulator: device ${id}, setup endpoint ${setupUrl}`);

    // 5. The phone: a new account, then setup against the simulator.
    const phoneDir = path.join(work, 'phone');
    const init = phoneInit(phoneDir, { name: 'e2e phone' });
    const account = unlockAccount(phoneDir, init.passphrase);
    say(`phone init: recipient ${init.recipient}; account unlocked with the passphrase`);
    const setup = await phoneSetup({ dir: phoneDir, endpoint: setupUrl, code: prov.qrPayload, wifi: { ssid: 'simulator', password: '' }, relayUrl: relay.url, account });
    say(`phone setup: done; device ${setup.deviceId}, roster epoch ${setup.roster.roster.epoch}`);
    if (setup.deviceId !== id) throw new Error(`setup reached device ${setup.deviceId}, not the simulator's ${id}`);
    await registerOnRelay({ dir: phoneDir, deviceId: id, adminToken, account });
    say('phone: doorbell registered on the relay (credential from setup, endorsed key), escrow uploaded');

    // 6. The doorbell connects and tells the relay its roster: then the phone can log in.
    const client = await until('the phone to log in (the doorbell must have told the relay its roster)', 90_000, () => phoneLogin(phoneDir, id));
    say('phone: logged in to the relay');
    await log.wait(/ready: \d+ clip header\(s\) prepared/, 120_000, 'clip headers prepared');

    // 7. Press the button (the simulator reads <state>/button).
    let mark = log.lines.length;
    await press('press', mark);
    const clipId = (await log.wait(/button: clip (\S+)/, 30_000, 'the press', mark))[1];
    await log.wait(new RegExp(`clip ${clipId}: done`), 60_000, 'the clip to finish', mark);
    say(`clip ${clipId}: recorded`);

    // 8. The clip at the relay, downloaded by the phone and opened with age -d.
    const fetchAndOpen = async (clipId: string): Promise<void> => {
      await until(`clip ${clipId} verified at the relay`, 120_000, async () => {
        try {
          return (await client.clip(clipId)).state === 'verified' ? true : undefined;
        } catch (e) {
          if (e instanceof RelayApiError && e.status === 404) return undefined;
          throw e;
        }
      });
      say(`relay: clip ${clipId} verified`);
      const out = path.join(work, 'downloads');
      const got = await client.download(clipId, out, { devicePub: setup.devicePublicKey });
      say(`phone: downloaded ${got.age} (${fs.statSync(got.age).size} bytes), manifest signature checked: ${got.checked}`);
      const mkv = path.join(out, `${clipId}.mkv`);
      const identity = path.join(phoneDir, 'identity.key');
      run('age', ['-d', '-i', identity, '-o', mkv, got.age]);
      const head = fs.readFileSync(mkv).subarray(0, 4).toString('hex');
      say(`age -d -i ${identity} -o ${mkv} ${got.age}: ok, ${fs.statSync(mkv).size} bytes, starts ${head}`);
      if (head !== '1a45dfa3') throw new Error('the decrypted clip is not a Matroska file');
      if (has('ffprobe')) {
        const r = spawnSync('ffprobe', ['-v', 'error', '-count_frames', '-select_streams', 'v:0', '-show_entries', 'stream=codec_name,width,height,nb_read_frames', '-of', 'csv=p=0', mkv], { encoding: 'utf8' });
        say(`ffprobe: ${r.stdout.trim()} (codec,width,height,frames)`);
      }
    };
    await fetchAndOpen(clipId);
    say('PASS 1: simulator setup → press → relay → phone → age -d');

    // 9. Power cycle: the same state folder. The doorbell comes back set up and online.
    await stopSim(sim);
    mark = log.lines.length;
    sim = startSim();
    const again = (await log.wait(/device id ([0-9A-F]{16})/, 60_000, 'the device id after the restart', mark))[1];
    if (again !== id) throw new Error(`after a restart the device is ${again}, not ${id}`);
    await log.wait(/uplink: relay /, 30_000, 'the uplink after the restart', mark);
    await log.wait(/ready: \d+ clip header\(s\) prepared/, 120_000, 'clip headers after the restart', mark);
    mark = log.lines.length;
    await press('press', mark);
    const clip2 = (await log.wait(/button: clip (\S+)/, 30_000, 'the press', mark))[1];
    await log.wait(new RegExp(`clip ${clip2}: done`), 60_000, 'the clip to finish', mark);
    await fetchAndOpen(clip2);
    say('PASS 2: after a restart, still set up: press → relay → phone → age -d');

    // 10. Long press: setup reopens; a long press while it is open is a factory reset.
    mark = log.lines.length;
    await press('long', mark);
    await log.wait(/setup: window open/, 10_000, 'setup to reopen', mark);
    mark = log.lines.length;
    await press('long', mark);
    await log.wait(/factory reset: identity, roster and settings wiped/, 10_000, 'the factory reset', mark);
    const fresh = (await log.wait(/device id ([0-9A-F]{16})/, 30_000, 'a new identity', mark))[1];
    await log.wait(/not set up: opening setup/, 10_000, 'setup for a new owner', mark);
    if (fresh === id) throw new Error('the factory reset kept the identity');
    say(`PASS 3: long press reopened setup; a second one reset the doorbell (new device id ${fresh})`);
    return 0;
  } finally {
    if (sim?.pid && sim.exitCode === null && sim.signalCode === null) {
      try {
        process.kill(-sim.pid, 'SIGTERM'); // the process group this script started
      } catch {
        // already gone
      }
    }
    await relay?.close();
    say(`work folder: ${work} (build.log, sim.log, relay.log, relay/, phone/, downloads/)`);
  }
}

main().then(
  (code) => process.exit(code),
  (e) => {
    say(`FAIL: ${(e as Error).message}`);
    process.exit(1);
  },
);
