/**
 * `sealbell demo`: the hosted simulator end to end. A doorbell (the real core on
 * hosts/node) records clips on simulated presses, sealed to every enrolled
 * phone; each phone then opens every clip and checks its signed manifest.
 */
import fs from 'node:fs';
import path from 'node:path';
import { SimulatedDevice } from '../hosts/node/simulator.js';
import { ClipFiles } from '../hosts/node/clip-files.js';
import { formatIdentityFile } from '../src/age/identity-file.js';
import { generateIdentity, identityToRecipient } from '../src/age/x25519.js';
import { systemRandom } from '../src/crypto/noble.js';
import { checkClip, clipPaths } from './clip-check.js';

export interface DemoOptions {
  out: string;
  clips: number;
  phones: number;
  /** seconds of video per clip */
  seconds: number;
  fps: number;
  log: (line: string) => void;
}

export interface DemoResult {
  clipIds: string[];
  phoneKeys: string[];
  devicePub: string;
}

export async function runDemo(o: DemoOptions): Promise<DemoResult> {
  const log = o.log;
  fs.mkdirSync(o.out, { recursive: true });
  const clipsDir = path.join(o.out, 'clips');
  fs.rmSync(clipsDir, { recursive: true, force: true });

  // Phones make their own identities; until setup over the AP exists, the owner enrolls them directly.
  const phones: string[] = [];
  const phoneKeys: string[] = [];
  for (let i = 1; i <= o.phones; i++) {
    const identity = generateIdentity(systemRandom);
    const file = path.join(o.out, `phone-${i}.key`);
    fs.writeFileSync(file, formatIdentityFile(identity, new Date()), { mode: 0o600 });
    phones.push(identity);
    phoneKeys.push(file);
  }
  log(`phones: ${o.phones} identities written (${phoneKeys.map((f) => path.basename(f)).join(', ')})`);

  const sink = new ClipFiles(clipsDir);
  const device = new SimulatedDevice({
    stateDir: path.join(o.out, 'device'),
    sink,
    fps: o.fps,
    log: (l) => log(`  device: ${l}`),
    doorbell: { clipDuration: o.seconds * 1000 },
  });
  const devicePub = path.join(o.out, 'device.pub');
  fs.writeFileSync(devicePub, device.identity.publicKeyText);
  log(`device ${device.identity.deviceId}: identity key ready, public key in ${devicePub}`);

  device.doorbell.setRecipients({ epoch: 1, recipients: phones.map(identityToRecipient) });
  const t0 = Date.now();
  device.prepare();
  log(`device: ${device.doorbell.pool.available} clip headers prepared in idle time (${Date.now() - t0} ms)`);

  const clipIds: string[] = [];
  for (let c = 1; c <= o.clips; c++) {
    device.run(2000); // someone walks up
    const id = device.press();
    log(`[${c}/${o.clips}] button pressed: clip ${id}`);
    device.run(o.seconds * 1000 + 1000);
    clipIds.push(id);
  }

  const pubText = fs.readFileSync(devicePub, 'utf8');
  for (const id of clipIds) {
    const paths = clipPaths(sink.paths(id).age);
    for (let i = 0; i < phones.length; i++) {
      const { manifest, opened } = checkClip(paths, pubText, { identities: [phones[i]] });
      if (i === 0) log(`clip ${id}: signature ok, ${opened!.frames}/${manifest.frames} frames, ${fs.statSync(paths.age).size} bytes`);
    }
  }
  log(`every phone opened every clip; files in ${o.out}`);
  return { clipIds, phoneKeys, devicePub };
}
