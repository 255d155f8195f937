/**
 * `sealbell doorbell`: the doorbell firmware (src/app) as a long-lived process on
 * this machine, the hosted simulator's doorbell. Its state folder is its flash:
 * the key-value store, the spool and the provisioning record; it resumes from it.
 *
 *   sealbell doorbell --state DIR [--verifier FILE] [--setup-port P] [--fps F] [--camera synthetic|FILE]
 *   sealbell doorbell press|long-press|motion|walk-by --state DIR
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { NodeDoorbell, STATE_FILES, type NodeCamera } from '../../hosts/node/doorbell.js';
import { SyntheticCamera } from '../../hosts/node/camera.js';
import { FileCamera } from '../../hosts/node/frame-file.js';
import { SealbellError } from '../../src/errors.js';
import { portNumber, positiveInt, UsageError } from '../cli-args.js';
import { CONTROL_COMMANDS, sendControl, startControl, type ControlCommand } from './control.js';
import { readPublicKey } from '../release/keys.js';

export const DOORBELL_USAGE = `usage: sealbell doorbell --state DIR [options]     run a doorbell (the firmware on this machine)
       sealbell doorbell press|long-press|motion|walk-by --state DIR     ring the doorbell running on DIR

  --state DIR          its flash: key-value store, spool, provisioning record (made if missing)
  --verifier FILE      the provisioning record from 'sealbell provision' (default DIR/${STATE_FILES.verifier},
                       which 'sealbell provision --state DIR' writes)
  --setup-port P       the setup endpoint on 127.0.0.1 while setup is open (default 8081; 0: any free port)
  --fps F              camera frames per second (default 10)
  --camera SOURCE      synthetic (a test picture with the frame number and time, the default), or a file
                       of JPEG frames or an MJPEG file, played in a loop
  --clip-seconds S     seconds a clip runs after the last press (default 10)
  --pre-roll S         seconds before a trigger that a clip starts with (default 3; 0: none): the
                       camera runs whenever a clip could start, its frames kept in a ring of memory
  --motion ZONES       camera motion with this zone map: rows of cells separated by "/", each cell a
                       zone letter A–Z or "." (masked), e.g. "..../AABB/AABB" (3 rows of 4 cells);
                       the synthetic camera then shows a still scene that 'walk-by' crosses
  --sensitivity N      camera motion sensitivity 1–100 (default 50)
  --release-key FILE   take signed firmware updates over the relay (docs/update-format.md): the release
                       public key (release.pub) this "firmware" is built with; A/B slots in DIR/${STATE_FILES.ota}

On a terminal: p or Enter presses the button, l holds it (long press), m is motion, q stops.
Ctrl-C or SIGTERM stop it cleanly: a clip in progress is sealed into the spool, nothing is lost.
`;

function preRollSeconds(text: string): number {
  const n = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text) || n > 60) throw new UsageError('--pre-roll must be 0–60 seconds');
  return n;
}

export async function doorbellCommand(args: string[]): Promise<void> {
  const sub = args[0];
  if (sub && (CONTROL_COMMANDS as readonly string[]).includes(sub)) return ring(sub as ControlCommand, args.slice(1));
  if (sub === 'help') return void process.stdout.write(DOORBELL_USAGE);
  const { values } = parseArgs({
    args,
    options: {
      state: { type: 'string' },
      verifier: { type: 'string' },
      'setup-port': { type: 'string', default: '8081' },
      fps: { type: 'string', default: '10' },
      camera: { type: 'string', default: 'synthetic' },
      'clip-seconds': { type: 'string', default: '10' },
      'pre-roll': { type: 'string', default: '3' },
      motion: { type: 'string' },
      sensitivity: { type: 'string' },
      'release-key': { type: 'string' },
    },
  });
  if (!values.state) throw new UsageError('doorbell needs --state DIR');
  const state = values.state;
  const motion = values.motion === undefined ? undefined : { zones: values.motion.split('/'), sensitivity: values.sensitivity === undefined ? undefined : positiveInt(values.sensitivity, '--sensitivity') };
  const camera: NodeCamera = values.camera === 'synthetic' ? new SyntheticCamera({ width: 320, height: 240, still: motion !== undefined }) : new FileCamera(values.camera!);
  const setupPort = portNumber(values['setup-port']!);
  const verifier = values.verifier ? new Uint8Array(fs.readFileSync(values.verifier)) : undefined;
  const log = (line: string) => console.log(`doorbell: ${line}`);

  const doorbell = new NodeDoorbell({
    state,
    verifier,
    setupPort,
    fps: positiveInt(values.fps!, '--fps'),
    camera,
    clipSeconds: positiveInt(values['clip-seconds']!, '--clip-seconds'),
    app: { preRoll: preRollSeconds(values['pre-roll']!) * 1000, motion },
    log,
    ota: values['release-key'] ? { releaseKey: readPublicKey(values['release-key']) } : undefined,
  });
  const control = await startControl(state, (c) => act(doorbell, c, log));
  log(`state in ${path.resolve(state)}; control socket ${path.join(state, 'control.sock')}`);
  doorbell.boot();
  if (doorbell.setupOpen) {
    try {
      await doorbell.setupUrl();
    } catch (e) {
      await doorbell.stop();
      await control.close();
      const code = (e as NodeJS.ErrnoException).code;
      throw new SealbellError('SETUP_PORT', code === 'EADDRINUSE' ? `port ${setupPort} on 127.0.0.1 is in use (another doorbell?): choose another with --setup-port` : `cannot open the setup endpoint: ${code ?? String(e)}`);
    }
  }
  const stopKeys = keyboard(doorbell, log);

  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
    stopKeys.onQuit = resolve;
  });
  stopKeys.close();
  log('stopping');
  await doorbell.stop();
  await control.close();
  const waiting = doorbell.app.spool?.empty === false;
  log(waiting ? 'stopped; sealed clips wait in the spool for the relay (they go up at the next start)' : 'stopped');
}

function act(d: NodeDoorbell, c: ControlCommand, log: (l: string) => void): string {
  if (c === 'walk-by') {
    if (!d.walkBy()) return 'error this camera cannot walk anyone by (only the synthetic one can)';
    log('someone walks across the picture');
    return 'ok walking by';
  }
  if (c === 'long-press') {
    log('button held (long press)');
    d.longPress();
    return `ok ${d.app.setup.state === 'open' ? 'setup open' : 'setup closed'}`;
  }
  const clip = d.press(c === 'motion' ? 'motion' : 'button');
  return clip ? `ok clip ${clip}` : 'error cannot record now (not set up yet, or no roster)';
}

/** Keys on a terminal: p/Enter/space press, l long press, m motion, q or Ctrl-C quit. */
function keyboard(d: NodeDoorbell, log: (l: string) => void): { onQuit?: () => void; close(): void } {
  const handle: { onQuit?: () => void; close(): void } = { close() {} };
  const stdin = process.stdin;
  if (!stdin.isTTY) return handle;
  stdin.setRawMode(true);
  stdin.resume();
  log('keys: p or Enter = press the button, l = hold it (long press), m = motion, q = stop');
  const onData = (b: Buffer) => {
    for (const ch of b.toString('utf8')) {
      if (ch === 'q' || ch === '\u0003' || ch === '\u0004') return handle.onQuit?.();
      const command: ControlCommand | undefined = ch === 'p' || ch === '\r' || ch === ' ' ? 'press' : ch === 'l' ? 'long-press' : ch === 'm' ? 'motion' : undefined;
      if (command) {
        const r = act(d, command, log);
        if (r.startsWith('error')) log(r.slice(6));
      }
    }
  };
  stdin.on('data', onData);
  handle.close = () => {
    stdin.off('data', onData);
    stdin.setRawMode(false);
    stdin.pause();
  };
  return handle;
}

async function ring(command: ControlCommand, args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { state: { type: 'string' } } });
  if (!values.state) throw new UsageError(`doorbell ${command} needs --state DIR (the running doorbell's folder)`);
  const answer = await sendControl(values.state, command);
  console.log(`doorbell ${command}: ${answer}`);
}
