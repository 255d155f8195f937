/**
 * The firmware on an emulated ESP32-S3, end to end: builds the QEMU board
 * (boards/qemu_esp32s3: Ethernet instead of Wi-Fi, a synthetic camera, the button typed on
 * the serial console) with the Moddable SDK and ESP-IDF, merges a flash image, boots it in
 * Espressif's QEMU (`-M esp32s3`, user networking with the setup port forwarded to
 * 127.0.0.1 only), and drives it with the `sealbell` command as a user would:
 *
 *   1. `sealbell provision` (its verifier record goes into the build), `sealbell relay` on
 *      127.0.0.1, a first boot that makes its identity only once the hardware RNG has its
 *      entropy source (the log lines in that order), garbage POSTed to the setup endpoint
 *      (a 400 with an ERROR body, and setup still works), `sealbell phone init` and
 *      `sealbell phone setup` against the doorbell's setup endpoint through the forwarded port;
 *   2. `press` on the serial console; the clip through the relay (`sealbell phone fetch`),
 *      opened with stock `age -d`, its manifest checked with `minisign -V`, the video with
 *      `ffprobe`;
 *   3. QEMU stopped and started again on the same flash image: the doorbell is still set up
 *      (same device id, NVS and spool in the image) and records a second clip;
 *   4. a signed firmware update (docs/update-format.md): `sealbell release keygen`, three builds
 *      with its key built in (1.0.0 security 1 is flashed; 1.1.0 security 2; 1.2.0 security 3
 *      with a 120 s trial), `sealbell release sign`, `sealbell phone update`: the relay streams
 *      1.1.0 down the uplink into `ota_1`, the doorbell checks it, restarts into it on trial,
 *      passes its self-test and marks it valid (security 2 recorded), records a clip;
 *   5. rollback: 1.2.0 installed the same way, then the relay stopped before it boots: it cannot
 *      pass its self-test, a clip recorded meanwhile stays in the spool, at the trial deadline the
 *      firmware rolls itself back and 1.1.0 boots again, refuses 1.2.0 from then on, and uploads
 *      that clip once the relay is back;
 *   6. `long` on the console reopens setup; `long` again is a factory reset (new device id).
 *
 *   node dist/tools/qemu-e2e.js [--work DIR] [--seconds N] [--no-build] [--tls] [--no-update]
 *
 * `--no-update` leaves out 4 and 5 (one build instead of three, no release key in it).
 *
 * With --tls the relay serves https/wss with a certificate from a throwaway test CA
 * (tools/test-ca.ts; it names 127.0.0.1 and 10.0.2.2, where the guest dials the host), setup
 * hands the doorbell that CA (`--relay-ca`), and after the first clip the relay comes back with
 * a certificate from another CA, then with the impostor of the SDK's chain check (an attacker's
 * self-signed certificate, then the genuine one), then with a certificate from the right CA for
 * another name: the doorbell must refuse each, keep its clip, and upload it once the right
 * certificate is back. The TLS handshake times the doorbell logs are reported.
 *
 * The guest's clock: QEMU's user network has no route out, so the board asks SNTP at 10.0.2.2
 * (the host's loopback) and this script answers there (UDP 127.0.0.1:123, which needs root or
 * CAP_NET_BIND_SERVICE; without it the clock stays in 1970 and --tls cannot check dates).
 *
 * Needs, from the environment (docs/moddable.md, "QEMU"): $MODDABLE (Moddable 1bf7b00e1 with
 * its Linux tools), $IDF_PATH (ESP-IDF 5.1 with its Python venv first on PATH and the
 * xtensa-esp32s3-elf toolchain on PATH), $QEMU_ESP32 (Espressif's qemu-system-xtensa) and
 * optionally $QEMU_ESP32_BIOS (its pc-bios folder with the ESP32-S3 ROM); and age, minisign,
 * ffprobe. Without them it says what is missing and exits 0: it is not part of `npm test`.
 * Everything listens on 127.0.0.1 only. Logs, the build, the flash image, the relay's data,
 * the phone and the clips stay in the work folder.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { freePort, has, LineLog, progress, run, until } from './e2e-driver.js';
import { refuseThenRecover, type RefusalRig } from './e2e-refusal.js';
import { issueServerCert, makeImpostorChain, makeTestCa, type TestCa } from './test-ca.js';
import { parseMessage } from '../src/setup/messages.js';
import { QEMU_HOST_LOOPBACK } from '../hosts/moddable/qemu-route.js';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');
const BOARD = 'qemu_esp32s3';
/** ota_0 and ota_1 in boards/qemu_esp32s3/sdkconfig/partitions.csv (0x280000) */
const SLOT_BYTES = 0x280000;

interface Args {
  work?: string;
  seconds: number;
  build: boolean;
  tls: boolean;
  update: boolean;
}

function parseArgs(argv: string[]): Args {
  // QEMU's time limit per boot: the second boot runs through both updates (26 min in the run of docs/moddable.md)
  const a: Args = { seconds: 3600, build: true, tls: false, update: true };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--work') a.work = argv[++i];
    else if (argv[i] === '--seconds') a.seconds = Number(argv[++i]);
    else if (argv[i] === '--no-build') a.build = false;
    else if (argv[i] === '--tls') a.tls = true;
    else if (argv[i] === '--no-update') a.update = false;
    else throw new Error(`unknown argument ${argv[i]}`);
  }
  return a;
}

const say = progress('qemu-e2e');

/** What is missing to run this, or undefined. */
function missing(env: NodeJS.ProcessEnv): string | undefined {
  if (!env.MODDABLE) return '$MODDABLE is not set (a Moddable SDK with its Linux tools built; docs/moddable.md, "QEMU")';
  if (!fs.existsSync(path.join(env.MODDABLE, 'build', 'bin', 'lin', 'release', 'mcconfig'))) return `mcconfig is not built in ${env.MODDABLE}`;
  const manifestTool = path.join(env.MODDABLE, 'tools', 'mcmanifest.js');
  if (fs.existsSync(manifestTool) && fs.readFileSync(manifestTool, 'utf8').includes('baseUrl: "./"')) {
    return `the SDK in ${env.MODDABLE} writes a tsconfig the repository's TypeScript refuses (baseUrl): apply the SDK changes in docs/moddable.md, "What this repository needs from that SDK"`;
  }
  if (!env.IDF_PATH || !fs.existsSync(path.join(env.IDF_PATH, 'tools', 'idf.py'))) return '$IDF_PATH is not an ESP-IDF checkout';
  if (!has('xtensa-esp32s3-elf-gcc')) return 'xtensa-esp32s3-elf-gcc is not on PATH';
  if (!env.QEMU_ESP32 || !fs.existsSync(env.QEMU_ESP32)) return "$QEMU_ESP32 is not set to Espressif's qemu-system-xtensa";
  for (const tool of ['age', 'minisign', 'ffprobe', 'python3']) if (!has(tool)) return `${tool} is not installed`;
  return undefined;
}

/**
 * The eFuses QEMU boots with: blank but for BLK_VERSION_MAJOR = 1 ("ADC calib V1"; ESP-IDF's
 * esp32s3 efuse table: EFUSE_BLK2, bit 128, 2 bits). With blank eFuses ESP-IDF's ADC driver
 * calibrates itself at startup (a constructor in esp_adc, linked in by the SDK's analog module) and
 * waits forever for a conversion QEMU's esp32s3 does not model: the boot stopped after
 * "calibration efuse version does not match". The file is QEMU's eFuse layout (esp_efuse.h:
 * BLOCK0 and BLOCK1 are 6 words each, then 8 words per block), so BLOCK2 starts at byte 48.
 */
function adcCalibratedEfuse(): Uint8Array {
  const efuse = new Uint8Array(1024);
  efuse[48 + 128 / 8] = 1;
  return efuse;
}

/** The firmware images of the update steps: what each build says it is (mcconfig arguments). */
const IMAGES = {
  base: { version: '1.0.0', security: 1, extra: [] as string[] },
  update: { version: '1.1.0', security: 2, extra: [] as string[] },
  // the trial deadline shortened from 10 minutes (hosts/moddable/ota-config.ts, trialSeconds)
  failing: { version: '1.2.0', security: 3, extra: ['trialSeconds=120'] },
};
type ImageName = keyof typeof IMAGES;

/** The Ed25519 key in a minisign public key file (2nd line: base64 of "Ed", key id, key) as hex, for mcconfig. */
function releaseKeyHex(pubFile: string): string {
  const raw = Buffer.from(fs.readFileSync(pubFile, 'utf8').split('\n')[1].trim(), 'base64');
  if (raw.length !== 42) throw new Error(`${pubFile} is not a minisign public key`);
  return raw.subarray(10).toString('hex');
}

/**
 * The board as an SDK target. Moddable SDKs that take a target folder (`-p esp32:DIR`) get the
 * repository's folder; older ones (1bf7b00e1) only know targets inside the SDK: the board is
 * linked in there once.
 */
function platformArgument(moddable: string): string {
  const manifestTool = fs.readFileSync(path.join(moddable, 'tools', 'mcmanifest.js'), 'utf8');
  if (manifestTool.includes('SUBPLATFORMDIRECTORY')) return `esp32:${path.join(ROOT, 'boards', BOARD)}`;
  const link = path.join(moddable, 'build', 'devices', 'esp32', 'targets', BOARD);
  const ours = path.join(ROOT, 'boards', BOARD);
  let there: string | undefined;
  try {
    there = fs.readlinkSync(link);
  } catch {
    there = fs.existsSync(link) ? link : undefined; // a folder, not a link: used as it is
  }
  if (there === undefined) {
    fs.symlinkSync(ours, link);
    say(`linked ${link} → boards/${BOARD} (this SDK has no external targets)`);
  } else if (there !== link && path.resolve(path.dirname(link), there) !== ours) {
    // One link for every checkout that builds with this SDK: a stale or foreign one would build another board folder.
    throw new Error(`${link} points to ${there}, not to this checkout's boards/${BOARD}: point it here (ln -sfn ${ours} ${link}), or give this checkout its own $MODDABLE (docs/moddable.md, "QEMU")`);
  }
  return `esp32/${BOARD}`;
}

/**
 * An SNTP server for the guest on 127.0.0.1:123 (the guest's 10.0.2.2:123): the host's time in
 * a server-mode reply (RFC 4330: LI 0, VN 4, mode 4, stratum 1, transmit time in bytes 40–47,
 * seconds since 1900). Resolves undefined if the port cannot be had (not root, or taken).
 */
async function sntpServer(): Promise<dgram.Socket | undefined> {
  const sock = dgram.createSocket('udp4');
  sock.on('message', (msg, from) => {
    if (msg.length < 48) return;
    const reply = Buffer.alloc(48);
    reply[0] = 0x24; // LI 0, VN 4, mode 4 (server)
    reply[1] = 1; // stratum 1
    msg.copy(reply, 24, 40, 48); // originate = the client's transmit time
    const now = Date.now() / 1000 + 2_208_988_800;
    for (const at of [16, 32, 40]) {
      reply.writeUInt32BE(Math.floor(now), at);
      reply.writeUInt32BE(Math.floor((now % 1) * 2 ** 32), at + 4);
    }
    sock.send(reply, from.port, from.address);
  });
  return new Promise((resolve) => {
    sock.once('error', (e) => {
      say(`sntp: cannot answer on 127.0.0.1:123 (${(e as NodeJS.ErrnoException).code}): the doorbell's clock stays unset`);
      sock.close();
      resolve(undefined);
    });
    sock.bind(123, '127.0.0.1', () => resolve(sock));
  });
}

/** Throws unless `lines` (from `from` on) match each of `steps` in that order, naming the first one missing or out of order. */
function inOrder(lines: string[], from: number, steps: [RegExp, string][]): void {
  let at = from;
  for (const [re, what] of steps) {
    const i = lines.findIndex((l, n) => n >= at && re.test(l));
    if (i < 0) throw new Error(`the boot log lacks "${what}" after the step before it`);
    at = i + 1;
  }
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const why = missing(process.env);
  if (why) {
    console.log(`qemu-e2e: skipped: ${why}`);
    return 0;
  }
  const moddable = process.env.MODDABLE!;
  const qemu = process.env.QEMU_ESP32!;
  const bios = process.env.QEMU_ESP32_BIOS;
  const bin = path.join(moddable, 'build', 'bin', 'lin', 'release');
  const env = { ...process.env, PATH: `${bin}:${path.join(ROOT, 'node_modules', '.bin')}:${process.env.PATH}` };

  const work = args.work ?? fs.mkdtempSync(path.join(os.tmpdir(), 'sealbell-qemu-e2e-'));
  fs.mkdirSync(work, { recursive: true });
  const buildDir = path.join(work, 'build');
  fs.mkdirSync(buildDir, { recursive: true });
  const flash = path.join(work, 'flash.bin');
  /** the image as built (a new doorbell): each run starts from a copy of it, whatever the last run left */
  const factoryFlash = path.join(work, 'flash-factory.bin');
  const efuse = path.join(work, 'efuse.bin');
  say(`work folder ${work}`);

  const sealbellJs = path.join(ROOT, 'bin', 'sealbell.js');
  const adminToken = randomBytes(32).toString('base64url');
  const phoneDir = path.join(work, 'phone');
  // Each run starts afresh, as from the image as built (below): a new phone, an empty relay, no
  // downloads, new test certificates. The build, the provisioning and the release key stay.
  for (const d of ['phone', 'relay', 'downloads', 'tls']) fs.rmSync(path.join(work, d), { recursive: true, force: true });
  /** `sealbell …` as a user runs it; secrets in its environment, never in its arguments. */
  const sealbell = (argv: string[], secrets: Record<string, string> = {}, hide?: RegExp): string => {
    say(`$ sealbell ${argv.join(' ')}`);
    const r = spawnSync(process.execPath, [sealbellJs, ...argv], { cwd: work, env: { ...env, ...secrets }, encoding: 'utf8', input: '' });
    for (const line of `${r.stdout}${r.stderr}`.trimEnd().split('\n')) if (line) console.log(`  cli | ${hide?.test(line) ? '    (passphrase shown here; not copied to this log)' : line}`);
    if (r.status !== 0) throw new Error(`sealbell ${argv[0]} ${argv[1] ?? ''} failed (exit ${r.status})`);
    return r.stdout;
  };

  // 1. Provisioning: the verifier record goes into the build (mcconfig verifier=<hex>).
  const factory = path.join(work, 'factory');
  if (args.build || !fs.existsSync(path.join(factory, 'setup-label.txt'))) sealbell(['provision', '--out', factory]);
  const label = fs.readFileSync(path.join(factory, 'setup-label.txt'), 'utf8');
  const qr = /QR:\s+(SB1:\S+)/.exec(label)?.[1];
  if (!qr) throw new Error('no QR payload on the setup label');
  const verifier = fs.readFileSync(path.join(factory, 'setup-verifier.bin')).toString('hex');

  // The release key (update steps): built into every image, signs the releases.
  const releaseDir = path.join(work, 'release');
  const images = path.join(work, 'images');
  const imageFile = (name: ImageName) => path.join(images, `${name}-${IMAGES[name].version}.bin`);
  if (args.update && (args.build || !fs.existsSync(`${releaseDir}.pub`))) sealbell(['release', 'keygen', '--out', releaseDir]);

  // 2. Build (release, instrumented: the SDK prints XS heap figures), then one flash image.
  if (args.build) {
    const platform = platformArgument(moddable);
    const idfBuild = path.join(buildDir, 'tmp', 'esp32', BOARD, 'instrument', 'sealbell', 'xsProj-esp32s3', 'build');
    /** One build into the same folder (the later ones are incremental: only mc/config differs). */
    const build = (name: ImageName | undefined): string => {
      const what = name ? [`version=${IMAGES[name].version}`, `security=${IMAGES[name].security}`, `releaseKey=${releaseKeyHex(`${releaseDir}.pub`)}`, ...IMAGES[name].extra] : [];
      say(`build: mcconfig -m -i -p ${platform} -o ${buildDir} verifier=… ${what.map((w) => w.replace(/^releaseKey=.*/, 'releaseKey=…')).join(' ')}`);
      // mcconfig ends with a flash step that finds no board (exit 2 after "Project build complete")
      run('mcconfig', ['-m', '-i', '-p', platform, '-o', buildDir, `verifier=${verifier}`, ...what], {
        cwd: ROOT,
        env,
        log: path.join(work, name && name !== 'base' ? `build-${name}.log` : 'build.log'),
        ok: (status, out) => status === 0 || out.includes('Project build complete'),
      });
      if (!fs.existsSync(path.join(idfBuild, 'flash_args'))) throw new Error(`the build made no ${idfBuild}/flash_args`);
      return path.join(idfBuild, 'xs_esp32.bin');
    };
    const app = build(args.update ? 'base' : undefined);
    run('python3', ['-m', 'esptool', '--chip', 'esp32s3', 'merge_bin', '--fill-flash-size', '8MB', '-o', factoryFlash, '@flash_args'], { cwd: idfBuild, env, log: path.join(work, 'merge.log') });
    const slot = (bin: string) => `${fs.statSync(bin).size} bytes of app image, slot ${SLOT_BYTES}`;
    say(`build: ok, ${factoryFlash} (${slot(app)})`);
    if (args.update) {
      fs.mkdirSync(images, { recursive: true });
      fs.copyFileSync(app, imageFile('base'));
      for (const name of ['update', 'failing'] as const) {
        fs.copyFileSync(build(name), imageFile(name));
        say(`build: ok, ${imageFile(name)} (${slot(imageFile(name))})`);
      }
    }
  }
  if (fs.existsSync(factoryFlash)) fs.copyFileSync(factoryFlash, flash);
  if (!fs.existsSync(flash)) throw new Error(`no flash image ${flash} (run without --no-build)`);
  if (args.update) {
    for (const name of ['update', 'failing'] as const) {
      const i = IMAGES[name];
      if (!fs.existsSync(imageFile(name))) throw new Error(`no image ${imageFile(name)} (run without --no-build)`);
      sealbell(['release', 'sign', imageFile(name), '--key', `${releaseDir}.key`, '--board', BOARD, '--version', i.version, '--security', String(i.security)]);
    }
  }
  fs.writeFileSync(efuse, adcCalibratedEfuse());

  // With --tls: a throwaway CA for the relay, and another one for a relay the doorbell must refuse;
  // also the impostor of the SDK's chain check (an attacker's own certificate for the address the
  // guest dials, then the genuine one) and a certificate from the right CA for another name.
  const certIps = ['127.0.0.1', QEMU_HOST_LOOPBACK];
  const tls = args.tls ? ((dir: string) => {
    const good = makeTestCa(dir, 'good', certIps);
    return {
      good,
      other: makeTestCa(dir, 'other', certIps),
      impostor: makeImpostorChain(dir, 'impostor', good, certIps),
      wrongName: issueServerCert(dir, 'wrong-name', good, ['IP:10.9.9.9', 'DNS:relay.example']),
    };
  })(path.join(work, 'tls')) : undefined;

  let relayProc: ChildProcess | undefined;
  let vm: ChildProcess | undefined;
  let sntp: dgram.Socket | undefined;
  const stop = async (child: ChildProcess | undefined): Promise<void> => {
    if (!child?.pid || child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise((r) => child.once('exit', r));
    process.kill(-child.pid, 'SIGTERM'); // the process group this script started
    await gone;
  };
  try {
    // 3. The relay, on loopback. QEMU's user network reaches it from the guest at 10.0.2.2.
    sntp = await sntpServer();
    if (sntp) say(`sntp: answering on 127.0.0.1:123 (the guest's ${QEMU_HOST_LOOPBACK}:123) with this machine's time`);
    else if (tls) throw new Error('--tls needs the guest clock set (certificate dates): run as root, or with CAP_NET_BIND_SERVICE');
    const relayPort = await freePort();
    const relayUrl = `${tls ? 'https' : 'http'}://127.0.0.1:${relayPort}`;
    const relayLog = new LineLog(path.join(work, 'relay.log'));
    /** The relay (with a test CA's certificate under --tls); started again on the same port and data, as after an outage. */
    const startRelay = async (cert?: TestCa): Promise<void> => {
      const relayArgv = ['relay', '--port', String(relayPort), '--data', path.join(work, 'relay'), '--host', '127.0.0.1', ...(cert ? ['--tls-cert', cert.chain, '--tls-key', cert.key] : [])];
      say(`$ sealbell ${relayArgv.join(' ')}   (SEALBELL_ADMIN_TOKEN in its environment)`);
      const mark = relayLog.lines.length;
      relayProc = spawn(process.execPath, [sealbellJs, ...relayArgv], { env: { ...env, SEALBELL_ADMIN_TOKEN: adminToken }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
      relayProc.stdout!.setEncoding('utf8').on('data', (c: string) => relayLog.push(c));
      relayProc.stderr!.setEncoding('utf8').on('data', (c: string) => relayLog.push(c));
      say(`relay: ${(await relayLog.wait(/^relay: (http\S+)/, 30_000, 'the relay', mark))[1]}`);
    };
    await startRelay(tls?.good);

    // 4. QEMU: the serial console on stdin/stdout, the setup endpoint forwarded to 127.0.0.1 only.
    const setupPort = await freePort();
    const log = new LineLog(path.join(work, 'qemu.log'), 'esp32s3');
    const boot = (): ChildProcess => {
      // One host thread for both cores (thread=single): with QEMU's multi-threaded TCG on this
      // loaded 2-core machine QEMU itself segfaulted (at 0x3fc9e1c5) in 3 of 5 boots and once in
      // esp_ota_end's image check after an update; never with thread=single so far.
      const qargs = ['-M', 'esp32s3', '-accel', 'tcg,thread=single', '-m', '8M', '-display', 'none', '-monitor', 'none', '-serial', 'stdio', ...(bios ? ['-L', bios] : []), '-drive', `file=${flash},if=mtd,format=raw`, '-drive', `file=${efuse},if=none,format=raw,id=efuse`, '-global', 'driver=nvram.esp32s3.efuse,property=drive,value=efuse', '-nic', `user,model=open_eth,hostfwd=tcp:127.0.0.1:${setupPort}-:80`];
      const child = spawn('timeout', [String(args.seconds), qemu, ...qargs], { env, detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
      child.stdout!.setEncoding('utf8').on('data', (c: string) => log.push(c));
      child.stderr!.setEncoding('utf8').on('data', (c: string) => log.push(c));
      // a signal here is QEMU's own crash (SIGSEGV seen now and then at boot), not the firmware's
      child.on('exit', (code, signal) => say(`qemu ${child.pid} exited (${signal ?? code})`));
      say(`qemu: pid ${child.pid}: ${path.basename(qemu)} ${qargs.join(' ')}`);
      return child;
    };
    /** Types a button command on the serial console. */
    const type = async (what: 'press' | 'long', from: number): Promise<void> => {
      vm!.stdin!.write(`${what}\n`);
      say(`console: typed "${what}"`);
      await log.wait(new RegExp(`console: "${what}"`), 30_000, 'the doorbell to read the console', from);
    };
    vm = boot();
    const id = (await log.wait(/device id ([0-9A-F]{16})/, 600_000, 'the device id'))[1];
    // A first boot: no key before the RNG has its entropy source (AppHost.rng, qemu-rng.c).
    inOrder(log.lines, 0, [
      [/waiting for the hardware RNG before making keys/, 'waiting for the hardware RNG before making keys'],
      [/rng: bootloader_random_enable\(\): entropy source on/, 'rng: bootloader_random_enable(): entropy source on'],
      [/hardware RNG ready: making keys/, 'hardware RNG ready: making keys'],
      [/device id [0-9A-F]{16}/, 'device id'],
    ]);
    say('RNG: the identity was made after bootloader_random_enable() (log lines in order: waiting for the hardware RNG → entropy source on → RNG ready → device id)');
    await log.wait(/setup: endpoint listening on port (\d+)/, 120_000, 'the setup endpoint');
    await log.wait(/ethernet: address (\d+\.\d+\.\d+\.\d+)/, 120_000, 'an Ethernet address (DHCP)');
    const setupUrl = `http://127.0.0.1:${setupPort}/setup`;
    say(`doorbell ${id}, setup endpoint ${setupUrl} (forwarded to the guest's port 80)`);

    // Garbage to the setup endpoint first: a 400 with an ERROR body each time, and setup still works after.
    for (const [what, body] of [['random bytes', randomBytes(300)], ['text', Buffer.from('hello, doorbell\r\n')], ['nothing', Buffer.alloc(0)]] as const) {
      const mark = log.lines.length;
      const r = await fetch(setupUrl, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body, signal: AbortSignal.timeout(60_000) });
      const reply = new Uint8Array(await r.arrayBuffer());
      let m: ReturnType<typeof parseMessage> | undefined;
      try {
        m = parseMessage(reply);
      } catch {
        m = undefined;
      }
      const said = m?.type === 'ERROR' ? `ERROR ${m.code} "${m.message}"` : `${reply.length} bytes that are no setup message`;
      say(`setup endpoint: POST ${what} (${body.length} bytes) → HTTP ${r.status} ${r.headers.get('content-type')}, ${said}`);
      if (r.status !== 400 || m?.type !== 'ERROR' || m.code !== 'SETUP_MALFORMED') throw new Error(`garbage (${what}) was not answered 400 with an ERROR SETUP_MALFORMED body`);
      await log.wait(/setup: SETUP_MALFORMED/, 30_000, 'the doorbell to log the malformed message', mark);
    }

    // 5. The phone: a new account, then setup against the doorbell (which also registers it on the relay).
    const init = sealbell(['phone', 'init', '--dir', phoneDir, '--name', 'qemu e2e phone'], {}, /^ {4}\S/);
    const passphrase = /^ {4}(\S.*)$/m.exec(init)?.[1];
    if (!passphrase) throw new Error('phone init showed no passphrase');
    const secrets = { SEALBELL_PASSPHRASE: passphrase, SEALBELL_ADMIN_TOKEN: adminToken, SEALBELL_WIFI_PASSWORD: 'qemu has ethernet' };
    const setupOut = sealbell(['phone', 'setup', '--dir', phoneDir, '--endpoint', setupUrl, '--code', qr, '--ssid', 'qemu-ethernet', '--relay', relayUrl, ...(tls ? ['--relay-ca', tls.good.ca] : [])], secrets);
    if (!setupOut.includes(`doorbell ${id} set up`)) throw new Error(`phone setup did not set up doorbell ${id}`);
    await log.wait(/uplink: relay /, 120_000, 'the doorbell to start its uplink');

    const clipsOf = (): string | undefined => {
      const r = spawnSync(process.execPath, [sealbellJs, 'phone', 'clips', '--dir', phoneDir], { cwd: work, env, encoding: 'utf8' });
      return r.status === 0 ? r.stdout : undefined;
    };
    await until('the phone to be let in (the doorbell tells the relay its roster)', 300_000, async () => clipsOf(), 1000);
    say('phone: `sealbell phone clips` works: the relay lets this phone in');
    await log.wait(/ready: \d+ clip header\(s\) prepared/, 600_000, 'clip headers prepared');

    const probe = (file: string): string[] => {
      const r = spawnSync('ffprobe', ['-v', 'error', '-count_frames', '-select_streams', 'v:0', '-show_entries', 'stream=codec_name,width,height,nb_read_frames', '-of', 'csv=p=0', file], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`ffprobe cannot read ${file}: ${r.stderr.trim()}`);
      return r.stdout.trim().split(',');
    };
    const identity = path.join(phoneDir, 'identity.key');
    const devicePub = path.join(phoneDir, 'devices', id, 'device.pub');
    /** A press on the console, and the clip through the relay to the phone, checked with stock tools. */
    const pressAndCheck = async (): Promise<string> => {
      const mark = log.lines.length;
      await type('press', mark);
      const clipId = (await log.wait(/button: clip (\S+)/, 60_000, 'the press', mark))[1];
      await log.wait(new RegExp(`clip ${clipId}: done`), 300_000, 'the clip to finish', mark);
      say(`clip ${clipId}: recorded`);
      await until(`clip ${clipId} verified at the relay`, 300_000, async () => (clipsOf()?.includes(`${clipId}  verified`) ? true : undefined), 1000);
      const mkv = path.join(work, 'downloads', `${clipId}.mkv`);
      fs.mkdirSync(path.dirname(mkv), { recursive: true });
      sealbell(['phone', 'fetch', clipId, '--dir', phoneDir, '--out', mkv]);
      const base = path.join(phoneDir, 'clips', clipId);
      const byAge = path.join(work, 'downloads', `${clipId}.age-d.mkv`);
      run('age', ['-d', '-i', identity, '-o', byAge, `${base}.age`]);
      say(`$ age -d -i ${identity} -o ${byAge} ${base}.age: ok, ${fs.statSync(byAge).size} bytes`);
      const signed = run('minisign', ['-V', '-p', devicePub, '-m', `${base}.manifest.json`, '-x', `${base}.manifest.json.minisig`]);
      say(`$ minisign -V -p ${devicePub} -m ${base}.manifest.json: ${signed.trim().split('\n')[0]}`);
      const [codec, width, height, frames] = probe(byAge);
      say(`$ ffprobe ${byAge}: ${codec},${width},${height},${frames} (codec,width,height,frames)`);
      if (codec !== 'mjpeg' || Number(frames) < 1 || probe(mkv).join(',') !== [codec, width, height, frames].join(',')) throw new Error('the clip is not the video sealbell phone fetch wrote');
      return clipId;
    };
    const handshakes = (): string[] => log.lines.map((l) => /tls: connected to \S+, TCP connect and handshake in (\d+) ms/.exec(l)?.[1]).filter((x): x is string => x !== undefined);
    const first = await pressAndCheck();
    say(`PASS 1: QEMU esp32s3: sealbell phone setup (garbage before it refused with 400) → press on the console → clip ${first} → relay${tls ? ' (wss://, the CA from setup)' : ''} → age -d, minisign -V, ffprobe`);

    if (tls) {
      say(`TLS handshakes so far (ms, TCP connect included): ${handshakes().join(', ')}`);
      // The relay's address presents a certificate the doorbell must refuse (tools/e2e-refusal.ts).
      const rig: RefusalRig = {
        device: 'the doorbell',
        log,
        restartRelay: async (cert) => {
          await stop(relayProc);
          await startRelay(cert);
        },
        good: tls.good,
        press: (from) => type('press', from),
        clipsOf,
        bound: 300_000,
        every: 1000,
        say,
      };
      await refuseThenRecover(rig, tls.other, 'a certificate from another CA', 'PASS 1b');
      await refuseThenRecover(rig, tls.impostor, "an attacker's self-signed certificate followed by the genuine relay certificate", 'PASS 1c');
      await refuseThenRecover(rig, tls.wrongName, 'a certificate from the setup CA for another name', 'PASS 1d');
    }

    // 6. Reboot: QEMU stopped and started on the same flash image.
    await stop(vm);
    let mark = log.lines.length;
    vm = boot();
    const again = (await log.wait(/device id ([0-9A-F]{16})/, 600_000, 'the device id after the reboot', mark))[1];
    if (again !== id) throw new Error(`after a reboot the device is ${again}, not ${id}`);
    await log.wait(/uplink: relay /, 120_000, 'the uplink after the reboot', mark);
    await log.wait(/ready: \d+ clip header\(s\) prepared/, 600_000, 'clip headers after the reboot', mark);
    const second = await pressAndCheck();
    say(`PASS 2: after a reboot (same flash image) still set up: clip ${second} → relay → age -d, minisign -V, ffprobe`);

    let pass = 3;
    if (args.update) {
      // 7. Update: the owner authorizes 1.1.0; the relay streams it down the uplink.
      const firmware = (): string => sealbell(['phone', 'firmware', '--dir', phoneDir, '--device', id]);
      const release = (name: ImageName) => `${imageFile(name)}.release.json.minisig`;
      firmware();
      mark = log.lines.length;
      sealbell(['phone', 'update', '--dir', phoneDir, '--device', id, release('update'), imageFile('update')], secrets);
      await log.wait(/update: receiving release 1\.1\.0/, 120_000, 'the doorbell to take the offer', mark);
      await log.wait(/update: release 1\.1\.0 written and checked/, 900_000, 'the image written into ota_1 and its SHA-256 checked', mark);
      const restartAt = log.lines.length;
      await log.wait(/rst:0x\w+ \((\w+)\)/, 60_000, 'the doorbell to restart itself', restartAt);
      await log.wait(/firmware 1\.1\.0 \(qemu_esp32s3, security 2, on trial\)/, 600_000, 'firmware 1.1.0 to boot on trial', restartAt);
      const again = (await log.wait(/device id ([0-9A-F]{16})/, 600_000, 'the device id after the update', restartAt))[1];
      if (again !== id) throw new Error(`after the update the device is ${again}, not ${id}`);
      await log.wait(/update: firmware 1\.1\.0 passed its self-test and is marked valid; recorded security version 2/, 300_000, 'the self-test (store, relay)', restartAt);
      await until('the relay to hear of firmware 1.1.0', 120_000, async () => (/firmware 1\.1\.0 \(qemu_esp32s3\), security 2,/.test(firmware()) ? true : undefined), 3000);
      await log.wait(/ready: \d+ clip header\(s\) prepared/, 600_000, 'clip headers after the update', restartAt);
      const third = await pressAndCheck();
      const listed = clipsOf() ?? '';
      if (![first, second].every((c) => listed.includes(`${c}  verified`))) throw new Error('clips from before the update are missing at the relay');
      say(`PASS ${pass++}: update: sealbell phone update → relay → uplink → ota_1 written, SHA-256 checked → restart → 1.1.0 on trial → self-test → valid, security 2 recorded; clip ${third} recorded by it`);

      // 8. Rollback: 1.2.0 cannot reach the relay during its trial; the deadline sends it back.
      mark = log.lines.length;
      sealbell(['phone', 'update', '--dir', phoneDir, '--device', id, release('failing'), imageFile('failing')], secrets);
      await log.wait(/update: release 1\.2\.0 written and checked/, 900_000, 'the image written into ota_0 and checked', mark);
      await stop(relayProc); // before the restart (500 ms later): the trial cannot reach it
      say('relay: stopped (the doorbell restarts into 1.2.0 and cannot reach the relay during its trial)');
      const trialAt = log.lines.length;
      await log.wait(/firmware 1\.2\.0 \(qemu_esp32s3, security 3, on trial\)/, 600_000, 'firmware 1.2.0 to boot on trial', trialAt);
      await log.wait(/ready: \d+ clip header\(s\) prepared/, 600_000, 'clip headers on trial', trialAt);
      const clipAt = log.lines.length;
      await type('press', clipAt);
      const kept = (await log.wait(/button: clip (\S+)/, 60_000, 'the press on trial', clipAt))[1];
      await log.wait(/update: firmware 1\.2\.0 failed its self-test \(relay not reached\)/, 600_000, 'the trial deadline', trialAt);
      const backAt = log.lines.length;
      await log.wait(/firmware 1\.1\.0 \(qemu_esp32s3, security 2\)/, 600_000, 'firmware 1.1.0 to boot again', backAt);
      await log.wait(/update: the last update did not pass its trial/, 60_000, 'the failed trial noted', backAt);
      const waiting = (await log.wait(/spool: (\d+) clip\(s\), \d+ segment\(s\) waiting for the relay/, 60_000, 'the spool after the rollback', backAt))[0];
      await startRelay(tls?.good);
      // "incomplete" when the rollback cut the clip short: still every segment sealed before it
      const keptState = await until(`clip ${kept} (recorded on trial) at the relay`, 600_000, async () => new RegExp(`${kept}  (verified|incomplete)`).exec(clipsOf() ?? '')?.[1], 2000);
      await until('the relay to hear of firmware 1.1.0 again', 300_000, async () => (/firmware 1\.1\.0 \(qemu_esp32s3\), security 2,/.test(firmware()) ? true : undefined), 3000);
      say(`PASS ${pass++}: rollback: 1.2.0 on trial without its relay → deadline → ota_0 marked invalid → 1.1.0 boots again; "${waiting}"; clip ${kept} from the trial reached the relay after the rollback (${keptState})`);
    }

    // 9. Long press: setup reopens; another is a factory reset.
    mark = log.lines.length;
    await type('long', mark);
    await log.wait(/setup: window open/, 60_000, 'setup to reopen', mark);
    mark = log.lines.length;
    await type('long', mark);
    await log.wait(/factory reset: identity, roster and settings wiped/, 60_000, 'the factory reset', mark);
    const fresh = (await log.wait(/device id ([0-9A-F]{16})/, 600_000, 'a new identity', mark))[1];
    await log.wait(/setup: endpoint listening/, 120_000, 'setup for a new owner', mark);
    if (fresh === id) throw new Error('the factory reset kept the identity');
    say(`PASS ${pass}: long press reopened setup; a second one reset the doorbell (new device id ${fresh}, setup open)`);
    if (tls) say(`TLS handshakes on the emulated chip (ms, TCP connect included): ${handshakes().join(', ')}`);
    return 0;
  } finally {
    await stop(vm);
    await stop(relayProc);
    sntp?.close();
    say(`work folder: ${work} (build.log, qemu.log, relay.log, flash.bin, relay/, factory/, phone/, downloads/)`);
  }
}

main().then(
  (code) => process.exit(code),
  (e) => {
    say(`FAIL: ${(e as Error).message}`);
    process.exit(1);
  },
);
