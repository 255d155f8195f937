/** The `sealbell` command. */
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import path from 'node:path';
import { runDemo } from './demo.js';
import { provision } from './provision.js';
import { startRelay } from './relay/server.js';
import { newToken } from './relay/tokens.js';
import { LOG_FORMATS, relayLogger, type LogFormat } from './relay/log.js';
import { phoneCommand, PHONE_USAGE } from './phone/cli.js';
import { doorbellCommand, DOORBELL_USAGE } from './doorbell/command.js';
import { releaseCommand, RELEASE_USAGE } from './release/command.js';
import { STATE_FILES } from '../hosts/node/doorbell.js';
import { portFree, portNumber, positiveInt, untilStopped, UsageError } from './cli-args.js';
import { reportFailure } from './cli-errors.js';
import { checkClip, clipPaths } from './clip-check.js';
import { parseIdentityFile } from '../src/age/identity-file.js';
import { SealbellError } from '../src/errors.js';
import { readTlsServerFiles } from './tls-files.js';

const USAGE = `usage: sealbell <command> [options]        (sealbell --version; sealbell help)

commands:
  demo       run the hosted simulator end to end: relay, doorbell, phones, on loopback
               --out DIR      where to leave everything (default: sealbell-demo)
               --clips N      clips to record (default 3)
               --phones M     phones: phone 1 sets up, 2..M enroll with the passphrase (default 2)
               --revoke K     phone 1 revokes phone K halfway through the clips
               --live S       then phone 1 watches live for S seconds (DIR/live.mkv)
               --seconds S    seconds per clip (default 4)
               --fps F        camera frames per second (default 10)
               --pq           a post-quantum account: phones and clips use mlkem768x25519 (age1pq1…)
  provision  the factory step for one doorbell: setup code (label) and SPAKE2+ verifier
               sealbell provision --out DIR [--state DOORBELL_DIR]
               --state also puts the verifier into a hosted doorbell's state folder
  doorbell   run a doorbell on this machine: the firmware with a synthetic (or file) camera,
             the setup endpoint on 127.0.0.1 standing in for its access point
               sealbell doorbell --state DIR [--setup-port 8081] [--fps F] [--camera synthetic|FILE]
               sealbell doorbell press|long-press|motion|walk-by --state DIR
               (sealbell doorbell help for details)
  relay      run a relay (HTTP + WebSocket; it stores ciphertext only)
               sealbell relay --port P --data DIR [--host 127.0.0.1] [--log-format text|json]
                 [--tls-cert FILE --tls-key FILE] [--quota-mb N]
                 [--db postgres://… [--advertise http://HOST:PORT]]
               --quota-mb: what one account's doorbells may keep at the relay together; uploads
               beyond it are refused (QUOTA_EXCEEDED) and wait in the doorbells' spools.
               With --db it keeps everything in PostgreSQL, and several relay processes may share it
               (docs/relay-operations.md); --advertise is where the others reach this one (live view).
               It logs one line per connection, upload, refusal and roster change (no secrets).
               With --tls-cert (PEM chain, the relay's certificate first, then its CA's) and
               --tls-key (PEM) it serves https:// and wss://; else plain http://.
               It serves the phone web app at /app/ (--app DIR: a built, signed release;
               else a development build).
               The admin token (registers doorbells) is $SEALBELL_ADMIN_TOKEN, else DIR/admin-token
               (made on first start, mode 0600).
  phone      the owner's side: sealbell phone <init|setup|register|enroll|pq-upgrade|revoke|status|clips|fetch|watch|live|retention|delete|serve|…>
               (sealbell phone help for details)
  release    the project's release key and signed firmware releases
               sealbell release keygen [--out release]
               sealbell release sign IMAGE --key release.key --board B --version V --security N
               sealbell release build-app --out DIR [--pub release.pub] [--version V]
               sealbell release sign-app DIR --key release.key [--version V]
               (sealbell release help for details)
  verify     check a clip against its signed manifest
               sealbell verify CLIP.age --pub DEVICE.pub [-i PHONE.key] [--out VIDEO.mkv]
               [--manifest FILE] [--signature FILE]
               Without -i only the signature and the payload hash are checked.
`;

type Handler = (args: string[]) => Promise<void>;

const commands: Record<string, Handler> = {
  async demo(args) {
    const { values } = parseArgs({
      args,
      options: {
        out: { type: 'string', default: 'sealbell-demo' },
        clips: { type: 'string', default: '3' },
        phones: { type: 'string', default: '2' },
        seconds: { type: 'string', default: '4' },
        fps: { type: 'string', default: '10' },
        revoke: { type: 'string' },
        live: { type: 'string' },
        pq: { type: 'boolean', default: false },
      },
    });
    await runDemo({
      out: values.out!,
      clips: positiveInt(values.clips!, '--clips'),
      phones: positiveInt(values.phones!, '--phones'),
      seconds: positiveInt(values.seconds!, '--seconds'),
      fps: positiveInt(values.fps!, '--fps'),
      revoke: values.revoke === undefined ? undefined : positiveInt(values.revoke, '--revoke'),
      live: values.live === undefined ? undefined : positiveInt(values.live, '--live'),
      pq: values.pq,
      log: (l) => console.log(l),
    });
  },

  async provision(args) {
    const { values } = parseArgs({ args, options: { out: { type: 'string' }, state: { type: 'string' } } });
    if (!values.out) throw new UsageError('provision needs --out DIR');
    const r = await provision({ out: values.out });
    if (values.state) {
      // the factory step for a hosted doorbell: its flash gets the verifier, never the code
      fs.mkdirSync(values.state, { recursive: true, mode: 0o700 });
      fs.writeFileSync(path.join(values.state, STATE_FILES.verifier), r.verifierRecord, { mode: 0o600 });
    }
    console.log(r.qrTerminal);
    console.log(r.labelText);
    console.log(`QR code for the label: ${r.qrPath}`);
    console.log(`verifier record for the doorbell's store: ${r.verifierPath}`);
    console.log(`label text: ${r.labelPath}`);
    if (values.state) console.log(`verifier record written into the doorbell's state folder: ${path.join(values.state, STATE_FILES.verifier)}`);
  },

  async relay(args) {
    const { values } = parseArgs({
      args,
      options: {
        port: { type: 'string', default: '8080' },
        data: { type: 'string' },
        host: { type: 'string', default: '127.0.0.1' },
        'log-format': { type: 'string', default: 'text' },
        'tls-cert': { type: 'string' },
        'tls-key': { type: 'string' },
        'quota-mb': { type: 'string' },
        app: { type: 'string' },
        db: { type: 'string' },
        advertise: { type: 'string' },
      },
    });
    if (!values.data) throw new UsageError('relay needs --data DIR');
    const quotaMb = values['quota-mb'] === undefined ? undefined : Number(values['quota-mb']);
    if (quotaMb !== undefined && !(/^[0-9]+$/.test(values['quota-mb']!) && quotaMb >= 1 && quotaMb <= 1 << 30)) throw new UsageError('--quota-mb must be a whole number of MiB, at least 1');
    if (values.app && !fs.existsSync(path.join(values.app, 'index.html'))) throw new SealbellError('NO_SUCH_DIR', `${values.app} holds no built web app (sealbell release build-app --out DIR)`);
    if (values.db !== undefined && !/^postgres(ql)?:\/\//.test(values.db)) throw new UsageError('--db must be a postgres:// URL');
    if (values.advertise !== undefined && (!values.db || !/^https?:\/\/[^/]+$/.test(values.advertise))) {
      throw new UsageError('--advertise goes with --db and is an http://host:port the other relay processes reach this one at');
    }
    const format = values['log-format'] as LogFormat;
    if (!LOG_FORMATS.includes(format)) throw new UsageError(`--log-format must be ${LOG_FORMATS.join(' or ')}`);
    const log = relayLogger(format);
    if (!values['tls-cert'] !== !values['tls-key']) throw new UsageError('--tls-cert and --tls-key go together');
    const tls = values['tls-cert'] ? readTlsServerFiles(values['tls-cert'], values['tls-key']!) : undefined;
    const port = portNumber(values.port!);
    // A port in use fails here, before the data folder or the admin token is made.
    await portFree(port, values.host!);
    const tokenFile = path.join(values.data, 'admin-token');
    let adminToken = process.env.SEALBELL_ADMIN_TOKEN;
    if (!adminToken) {
      fs.mkdirSync(values.data, { recursive: true, mode: 0o700 });
      if (!fs.existsSync(tokenFile)) fs.writeFileSync(tokenFile, newToken() + '\n', { mode: 0o600 });
      adminToken = fs.readFileSync(tokenFile, 'utf8').trim();
    }
    const relay = await startRelay({
      port,
      host: values.host,
      dataDir: values.data,
      adminToken,
      tls,
      log,
      quotaBytes: quotaMb === undefined ? undefined : quotaMb * 1024 * 1024,
      app: { dir: values.app },
      db: values.db,
      internalUrl: values.advertise,
    });
    log(`relay: ${relay.url} (uplink ${relay.uplinkUrl}); data in ${values.data}`);
    log(process.env.SEALBELL_ADMIN_TOKEN ? 'relay: admin token from $SEALBELL_ADMIN_TOKEN' : `relay: admin token in ${tokenFile}`);
    await untilStopped();
    await relay.close();
    log('relay: stopped');
  },

  async phone(args) {
    await phoneCommand(args);
  },

  async doorbell(args) {
    await doorbellCommand(args);
  },

  async release(args) {
    await releaseCommand(args);
  },

  async verify(args) {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        pub: { type: 'string' },
        identity: { type: 'string', short: 'i', multiple: true },
        out: { type: 'string', short: 'o' },
        manifest: { type: 'string' },
        signature: { type: 'string' },
      },
    });
    if (positionals.length !== 1 || !values.pub) throw new UsageError('verify needs one clip and --pub');
    const identities = (values.identity ?? []).flatMap((f) => parseIdentityFile(fs.readFileSync(f, 'utf8')));
    if (values.out && !identities.length) throw new UsageError('--out needs an identity (-i) to decrypt with');
    const paths = clipPaths(positionals[0], values.manifest, values.signature);
    const { manifest, opened } = checkClip(paths, fs.readFileSync(values.pub, 'utf8'), { identities, out: values.out });
    const sealing = manifest.kem === 'mlkem768x25519' ? 'post-quantum (mlkem768x25519)' : 'X25519';
    console.log(`ok: clip ${manifest.clip} from device ${manifest.device}, epoch ${manifest.epoch}, sealed ${sealing}, ${manifest.frames} frames, ` +
      `${new Date(manifest.start).toISOString()} – ${new Date(manifest.end).toISOString()}` +
      (opened ? `; decrypted ${opened.frames} frames ${opened.info.width}x${opened.info.height}` : '; payload hash matches (not decrypted)'));
    if (manifest.dropped.length) console.log(`note: the device dropped ${manifest.dropped.length} clip(s) before this one: ${manifest.dropped.join(', ')}`);
  },
};


/** The version in package.json (the one next to dist/). */
function version(): string {
  const pkg = JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

const HELP = new Set(['help', '--help', '-h']);

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--version' || name === '-V' || name === 'version') {
    process.stdout.write(`sealbell ${version()}\n`);
    return 0;
  }
  if (name === undefined || HELP.has(name)) {
    process.stdout.write(USAGE);
    return 0;
  }
  const command = commands[name];
  if (!command) {
    process.stderr.write(`sealbell: unknown command "${name}"\n\n${USAGE}`);
    return 2;
  }
  const usage = name === 'phone' ? PHONE_USAGE : name === 'doorbell' ? DOORBELL_USAGE : name === 'release' ? RELEASE_USAGE : USAGE;
  if (name !== 'phone' && rest.some((a) => HELP.has(a))) {
    process.stdout.write(usage);
    return 0;
  }
  // A failure outside the command's own promise (an event handler) still gets one line, not a trace.
  const onStray = (e: unknown) => {
    process.exitCode = reportFailure(name, e, usage);
    process.exit();
  };
  process.on('uncaughtException', onStray);
  process.on('unhandledRejection', onStray);
  try {
    await command(rest);
    return 0;
  } catch (e) {
    return reportFailure(name, e, usage);
  }
}
