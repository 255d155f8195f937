/**
 * The doorbell app (src/app) on the Node host (hosts/node/doorbell.ts), for tests:
 * a simulated clock, the store and flash in RAM so tests can look inside, seeded
 * randomness, and every doorbell made here stopped after each test.
 */
import type { ProvisionResult } from '../tools/provision.js';
import type { AppOptions } from '../src/app/app.js';
import { NodeDoorbell, type NodeCamera, type NodeDoorbellOptions } from '../hosts/node/doorbell.js';
import { SyntheticCamera } from '../hosts/node/camera.js';
import { nobleBackend } from '../src/crypto/noble.js';
import { MemoryStore, seededRandom, tempDir } from './helpers.js';
import { RamFlash } from './ram-flash.js';

export const T0 = Date.UTC(2026, 10, 27, 9, 0, 0);
const made: NodeDoorbell[] = [];

/** Stops every doorbell made so far (afterEach). */
export async function stopDoorbells(): Promise<void> {
  for (const d of made.splice(0)) await d.stop();
}

export interface TestDoorbellOptions {
  /** the store and flash of an earlier doorbell: the same device after a reboot */
  from?: { store: MemoryStore; flash: RamFlash; now: number };
  app?: AppOptions;
  rng?: { ready(): boolean; prepare?(): void };
  /** another camera (default: the synthetic one at 160×120) */
  camera?: NodeCamera;
  /** firmware updates: A/B slots in the doorbell's state folder (hosts/node/ota-flash.ts) */
  ota?: NodeDoorbellOptions['ota'];
  /** the state folder (default: a new one); the same folder is the same A/B slots */
  state?: string;
  /** false: a board without a microphone (default: the simulated one, hosts/node/microphone.ts) */
  microphone?: boolean;
  /** camera frames per second (default 10); a test that only lets device time pass needs few */
  fps?: number;
}

/** A provisioned doorbell (not booted): 160×120 camera at 10 fps, simulated clock, the RNG seeded by `seed`. */
export function testDoorbell(prov: ProvisionResult, seed: string, o: TestDoorbellOptions = {}): NodeDoorbell & { store: MemoryStore; flash: RamFlash } {
  const d = new NodeDoorbell({
    state: o.state ?? tempDir('doorbell'),
    ota: o.ota,
    verifier: prov.verifierRecord,
    store: o.from?.store ?? new MemoryStore(),
    flash: o.from?.flash ?? new RamFlash(1 << 20),
    camera: o.camera ?? new SyntheticCamera({ width: 160, height: 120 }),
    microphone: o.microphone,
    fps: o.fps,
    simulatedStart: o.from?.now ?? T0,
    random: seededRandom(seed),
    backend: nobleBackend,
    app: { apLinger: 20, ...o.app },
    rng: o.rng,
  });
  made.push(d);
  return d as NodeDoorbell & { store: MemoryStore; flash: RamFlash };
}
