/**
 * A Moddable doorbell for Node tests: the same DoorbellApp that main.ts runs
 * (hosts/moddable/app.ts), given Node stand-ins for the SDK bindings (a setup
 * server and the device's WebSocket client over `net`, a NOR flash in RAM, a real
 * JPEG camera) and a simulated clock that moves while real I/O runs.
 */
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { DoorbellApp, type AppHost, type AppNetwork, type AppOptions } from '../hosts/moddable/app.js';
import { HttpConnection } from '../hosts/moddable/http-server.js';
import { FlashSpoolStorage, recommendedCapacity } from '../hosts/moddable/flash-spool-storage.js';
import type { LedStatus } from '../hosts/moddable/types.js';
import { nobleBackend } from '../src/crypto/noble.js';
import { SyntheticCamera } from '../hosts/node/camera.js';
import type { ProvisionResult } from '../tools/provision.js';
import { MemoryStore, seededRandom } from './helpers.js';
import { sleep } from './relay-helpers.js';
import { netStream, RamFlash, wsConnect } from './moddable-node-host.js';

const T0 = Date.UTC(2026, 10, 27, 9, 0, 0);
const rigs: Rig[] = [];

/** Shuts down every rig made so far (afterEach). */
export function shutdownRigs(): void {
  for (const r of rigs.splice(0)) r.app.shutdown();
}

/** A device: the app with Node bindings, its simulated clock, its setup server on 127.0.0.1. */
export class Rig {
  now = T0;
  readonly store: MemoryStore;
  readonly flash: RamFlash;
  readonly camera = new SyntheticCamera({ width: 160, height: 120 });
  readonly logs: string[] = [];
  readonly lights: LedStatus[] = [];
  readonly ap: string[] = [];
  setupUrl: Promise<string> | undefined;
  readonly app: DoorbellApp;
  /** frames the camera made (it runs only while the app uses frames, to keep the tests quick) */
  frames = 0;

  constructor(prov: ProvisionResult, seed: string, from?: { store: MemoryStore; flash: RamFlash }, options: AppOptions = {}) {
    this.store = from?.store ?? new MemoryStore();
    this.flash = from?.flash ?? new RamFlash(1 << 20);
    const random = seededRandom(seed);
    const network: AppNetwork = {
      openAccessPoint: (ssid) => this.ap.push(`open ${ssid}`),
      closeAccessPoint: () => this.ap.push('close'),
      join: (_wifi, events) => setImmediate(() => events.onOnline()),
      leave: () => {},
    };
    const host: AppHost = {
      log: (m) => this.logs.push(m),
      store: this.store,
      random,
      backend: nobleBackend,
      clock: { now: () => this.now },
      camera: this.camera,
      light: { show: (s) => this.lights.push(s), close() {} },
      spool: { storage: new FlashSpoolStorage(this.flash), capacity: recommendedCapacity(this.flash.byteLength, this.flash.blockSize) },
      network,
      openSetupEndpoint: (handler) => {
        const sockets = new Set<net.Socket>();
        const server = net.createServer((socket) => {
          sockets.add(socket);
          const conn = new HttpConnection(handler, {}, () => sockets.delete(socket));
          conn.attach(netStream(socket, conn));
        });
        this.setupUrl = new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}/setup`)));
        return {
          close: () => {
            server.close();
            this.setupUrl = undefined;
          },
        };
      },
      uplinkConnect: wsConnect(random),
      later: (fn, ms) => setTimeout(fn, ms),
      verifierRecord: prov.verifierRecord,
    };
    this.app = new DoorbellApp(host, { apLinger: 20, ...options });
    rigs.push(this);
  }

  /** Real I/O runs while simulated time moves `step` ms per round (10 fps while the app uses frames). */
  async drive(done: () => boolean, what: string, step = 100, rounds = 3000): Promise<void> {
    for (let i = 0; i < rounds; i++) {
      if (done()) return;
      this.now += step;
      if (this.app.capturing) this.app.frame(this.camera.capture(this.frames++, this.now), this.now);
      this.app.tick(this.now);
      await sleep(2);
    }
    throw new Error(`did not happen: ${what}\n${this.logs.slice(-15).join('\n')}`);
  }
}
