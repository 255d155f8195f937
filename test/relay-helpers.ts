/**
 * Fixtures for the relay and uplink tests: a relay in a temp folder on loopback,
 * and test doorbells running the real core (Doorbell → Spool → Uplink) over the
 * hosted simulator's WebSocket, driven by a simulated clock.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import http from 'node:http';
import { createHash } from 'node:crypto';
import Database from 'better-sqlite3';
import { concatBytes } from '../src/bytes.js';
import type { ClipSink, Random } from '../src/host.js';
import { Doorbell } from '../src/device/doorbell.js';
import { loadOrCreateIdentity, type DeviceIdentity } from '../src/device/identity.js';
import { nobleBackend } from '../src/crypto/noble.js';
import { generateIdentity, identityToRecipient } from '../src/age/x25519.js';
import { Spool } from '../src/uplink/spool.js';
import { Uplink, type RosterLink, type UplinkOptions } from '../src/uplink/uplink.js';
import type { SpoolStorage } from '../src/uplink/storage.js';
import type { UplinkConnect } from '../src/uplink/socket.js';
import { startRelay, type Relay, type RelayOptions } from '../tools/relay/server.js';
import type { RelayLimits } from '../tools/relay/http-api.js';
import { readLogBytes } from '../tools/relay/segment-log.js';
import { RelayApiError } from '../tools/relay/phone-client.js';
import { newDeviceCredential, registerDevice } from '../tools/relay/owner-client.js';
import { wsUplinkConnect, type WsUplinkSocket } from '../hosts/node/uplink-socket.js';
import { FileSpoolStorage } from '../hosts/node/file-spool-storage.js';
import { fakeFrame, MemorySink, MemoryStore, seededRandom, tempDir } from './helpers.js';

export const ADMIN_TOKEN = 'test-admin-token-0123456789abcdefghijklmnop';
export const T0 = 1_800_000_000_000;

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const running = new Set<Relay>();

/**
 * Set while the relay tests run again on PostgreSQL (test/relay-postgres-suite.test.ts): each
 * data folder then gets a database of its own (the same one again when a test restarts its relay).
 */
export const testRelayDb: { create?: (name: string) => Promise<string> } = {};
const databases = new Map<string, string>();

/** The database a relay on `dataDir` keeps its store in while the tests run on PostgreSQL; else undefined (SQLite). */
export async function testDbFor(dataDir: string): Promise<string | undefined> {
  if (!testRelayDb.create) return undefined;
  const db = databases.get(dataDir) ?? (await testRelayDb.create(`relay_${databases.size + 1}`));
  databases.set(dataDir, db);
  return db;
}

/**
 * On PostgreSQL: a second relay process on the same database as the relay on `dataDir`
 * (its own data folder and port), for phones while the doorbell stays on the first; on
 * SQLite: undefined (one relay is all there is).
 */
export async function startSecondRelay(dataDir: string, o: Partial<RelayOptions> = {}): Promise<Relay | undefined> {
  if (!testRelayDb.create) return undefined;
  const relay = await startRelay({ port: 0, host: '127.0.0.1', adminToken: ADMIN_TOKEN, ...o, dataDir: tempDir('relay-b'), db: await testDbFor(dataDir) });
  running.add(relay);
  const close = relay.close;
  return Object.assign(relay, {
    close: async () => {
      running.delete(relay);
      await close();
    },
  });
}

/** Points a phone at another relay process for a doorbell (the phone's devices/<id>/device.json). */
export function movePhoneToRelay(phoneDir: string, deviceId: string, url: string): void {
  const file = path.join(phoneDir, 'devices', deviceId, 'device.json');
  const j = JSON.parse(fs.readFileSync(file, 'utf8')) as { relayUrl: string };
  fs.writeFileSync(file, JSON.stringify({ ...j, relayUrl: url }) + '\n', { mode: 0o600 });
}

export async function startTestRelay(dataDir = tempDir('relay'), port = 0, limits?: Partial<RelayLimits>): Promise<Relay & { dataDir: string }> {
  const db = await testDbFor(dataDir);
  const relay = await startRelay({ port, host: '127.0.0.1', dataDir, adminToken: ADMIN_TOKEN, limits, db });
  running.add(relay);
  const close = relay.close;
  return Object.assign(relay, {
    dataDir,
    close: async () => {
      running.delete(relay);
      await close();
    },
  });
}

/** Closes every relay a test left running (e.g. when it failed half-way): use as afterEach. */
export async function closeRelays(): Promise<void> {
  await Promise.all([...running].map((r) => r.close()));
  running.clear();
}

/** Passes every call on to each sink in turn. */
export class TeeSink implements ClipSink {
  constructor(private readonly sinks: ClipSink[]) {}
  begin(id: string, epoch: number) {
    for (const s of this.sinks) s.begin(id, epoch);
  }
  segment(id: string, index: number, bytes: Uint8Array) {
    for (const s of this.sinks) s.segment(id, index, bytes);
  }
  end(id: string, manifest: Uint8Array, signature: string) {
    for (const s of this.sinks) s.end(id, manifest, signature);
  }
}

export interface Clock {
  now: number;
}

export interface TestDeviceOptions {
  seed: string;
  relay: { uplinkUrl: string; url: string };
  clock: Clock;
  /** a folder for a file-backed spool; default: a new temp folder */
  spoolDir?: string;
  storage?: SpoolStorage;
  capacity?: number;
  window?: number;
  /** the identity store (reuse it to reboot the same device) */
  kv?: MemoryStore;
  credential?: string;
  phones?: string[];
  /** wraps the socket connector, e.g. to lose messages */
  wrapConnect?: (c: UplinkConnect) => UplinkConnect;
  uplink?: Partial<UplinkOptions>;
  /** a different random stream after a reboot, so clip ids do not repeat */
  boot?: number;
  /** roster updates over the uplink (default: none) */
  roster?: (identity: DeviceIdentity, doorbell: Doorbell) => RosterLink;
}

/** A doorbell on the real core: Doorbell → (Spool, in-memory copy of what was sealed) → Uplink → relay. */
export class TestDevice {
  readonly identity: DeviceIdentity;
  readonly storage: SpoolStorage;
  readonly spool: Spool;
  readonly uplink: Uplink;
  readonly doorbell: Doorbell;
  /** every segment the sealer produced, as sealed */
  readonly sealed = new MemorySink();
  readonly sockets: WsUplinkSocket[] = [];
  readonly random: Random;
  readonly log: string[] = [];

  constructor(readonly o: TestDeviceOptions & { kv: MemoryStore; credential: string; phones: string[]; spoolDir: string }) {
    this.random = seededRandom(`${o.seed}/boot${o.boot ?? 0}`);
    this.identity = loadOrCreateIdentity(o.kv, seededRandom(`${o.seed}/identity`));
    this.storage = o.storage ?? new FileSpoolStorage(o.spoolDir);
    const log = (l: string) => this.log.push(l);
    this.spool = new Spool({ storage: this.storage, capacity: o.capacity ?? 8 << 20, log });
    const connect = wsUplinkConnect({ url: o.relay.uplinkUrl, credential: o.credential, onSocket: (s) => this.sockets.push(s) });
    this.uplink = new Uplink({
      spool: this.spool,
      roster: o.roster ? { held: () => this.rosterLink!.held(), update: (b) => this.rosterLink!.update(b) } : undefined,
      connect: o.wrapConnect ? o.wrapConnect(connect) : connect,
      random: this.random,
      deviceId: this.identity.deviceId,
      window: o.window,
      log,
      ...o.uplink,
    });
    this.doorbell = new Doorbell({
      backend: nobleBackend,
      random: this.random,
      identity: this.identity,
      sink: new TeeSink([this.spool, this.sealed]),
      width: 320,
      height: 240,
      clipDuration: 60_000,
      takeDropped: () => this.spool.takeDropped(),
    });
    this.doorbell.setRecipients({ epoch: 1, recipients: o.phones.map(identityToRecipient) });
    this.rosterLink = o.roster?.(this.identity, this.doorbell);
  }

  private readonly rosterLink: RosterLink | undefined;

  /** A new device registered on the relay (or an existing one when `credential` and `kv` are given). */
  static async create(o: TestDeviceOptions): Promise<TestDevice> {
    const kv = o.kv ?? new MemoryStore();
    const phones = o.phones ?? [generateIdentity(seededRandom(`${o.seed}/phone`))];
    let credential = o.credential;
    const spoolDir = o.spoolDir ?? tempDir('spool');
    const d = new TestDevice({ ...o, kv, phones, credential: credential ?? newDeviceCredential(), spoolDir });
    if (!credential) await registerDevice(o.relay.url, ADMIN_TOKEN, { credential: d.o.credential, publicKey: d.identity.publicKeyText });
    return d;
  }

  get id(): string {
    return this.identity.deviceId;
  }

  /** The same device after a restart: same identity, credential and spool storage; new objects. */
  reboot(over: Partial<TestDeviceOptions> = {}): TestDevice {
    return new TestDevice({ ...this.o, storage: undefined, boot: (this.o.boot ?? 0) + 1, ...over, kv: this.o.kv, credential: this.o.credential, phones: this.o.phones, spoolDir: this.o.spoolDir });
  }

  /** The device dies: its connection drops with no close handshake, and it handles nothing more. */
  crash(): void {
    for (const s of this.sockets) s.terminate();
    this.uplink.stop();
  }

  /** Presses the button and records `frames` frames (10 fps) of `size` bytes; returns the clip id. */
  startClip(t: number): string {
    return this.doorbell.press(t);
  }

  addFrames(t: number, from: number, count: number, size = 10_000): void {
    for (let i = from; i < from + count; i++) this.doorbell.frame(fakeFrame(i, size), t + i * 100);
  }

  recordClip(t: number, frames: number, size = 10_000): string {
    const id = this.startClip(t);
    this.addFrames(t, 1, frames, size);
    this.doorbell.finishClip();
    return id;
  }

  /** The sealed .age bytes of a clip so far. */
  sealedAge(id: string): Uint8Array {
    return concatBytes(...this.sealed.clips.get(id)!.segments);
  }
}

/** Some uplink waits on the relay (a connection being made, segments unacknowledged): simulated time must hold. */
export function awaitingRelay(devices: { uplink: Uplink }[]): boolean {
  return devices.some((d) => d.uplink.state === 'connecting' || (d.uplink.state === 'ready' && d.uplink.inFlightCount > 0));
}

/**
 * Lets real I/O happen while the simulated clock moves `step` ms per round,
 * ticking every uplink, until `done()` holds. Step 0: time stands still (only
 * I/O progresses), so no backoff or timeout can fire.
 *
 * The clock never races real I/O: while an uplink awaits the relay (connecting,
 * or segments in flight) time holds, so a slow, busy machine cannot turn a 30 s
 * simulated acknowledgement timeout into a few real milliseconds; it moves only
 * while every uplink just waits on its own timer (backoff). `rounds` bounds the
 * simulated steps; `realBoundMs` (a generous 60 s) bounds the waits on real I/O.
 */
export async function drive(
  clock: Clock,
  devices: { uplink: Uplink }[],
  done: () => boolean,
  o: { step?: number; rounds?: number; realMs?: number; realBoundMs?: number; what?: string } = {},
): Promise<number> {
  const step = o.step ?? 0;
  const rounds = o.rounds ?? 3000;
  const deadline = Date.now() + (o.realBoundMs ?? 60_000);
  let steps = 0;
  for (let i = 0; ; i++) {
    if (done()) return i;
    if (step > 0 && !awaitingRelay(devices)) {
      if (steps++ >= rounds) break;
      clock.now += step;
    } else if (Date.now() > deadline) break;
    for (const d of devices) d.uplink.tick(clock.now);
    await sleep(o.realMs ?? 2);
  }
  throw new Error(`did not settle${o.what ? `: ${o.what}` : ''}`);
}

/** What the relay holds for a clip: its state and the .age bytes from its blob files. */
export function relayClip(dataDir: string, device: string, clip: string): { state: string; reason: string | null; age: Uint8Array; segments: number } | undefined {
  const db = new Database(path.join(dataDir, 'relay.sqlite'), { readonly: true, fileMustExist: true });
  try {
    const row = db.prepare('SELECT state, reason FROM clips WHERE device = ? AND clip = ?').get(device, clip) as { state: string; reason: string | null } | undefined;
    if (!row) return undefined;
    const segs = storedSegments(db, dataDir, device, clip);
    const parts = segs.map((s) => s.bytes);
    return { ...row, age: concatBytes(...parts), segments: segs.length };
  } finally {
    db.close();
  }
}

/** A clip's stored segments as the relay's database and segment log hold them (read straight from its files). */
export function storedSegments(db: Database.Database, dataDir: string, device: string, clip: string): { idx: number; bytes: Uint8Array }[] {
  const rows = db.prepare('SELECT idx, size, log, offset FROM segments WHERE device = ? AND clip = ? ORDER BY idx').all(device, clip) as {
    idx: number;
    size: number;
    log: number;
    offset: number;
  }[];
  return rows.map((r) => ({ idx: r.idx, bytes: readLogBytes(path.join(dataDir, 'segments'), r, r.size) }));
}

/**
 * Everything the relay has stored, for "nothing changed" checks: blob files by hash, and every
 * table's rows but phone logins (challenges and sessions are kept in the store too: a test of bad
 * input may log a good phone in; `storedSessions` counts them).
 */
export function snapshotStore(dataDir: string): string {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (!e.name.startsWith('relay.sqlite')) files.push(`${path.relative(dataDir, p)} ${createHash('sha256').update(fs.readFileSync(p)).digest('hex')}`);
    }
  };
  walk(dataDir);
  const db = new Database(path.join(dataDir, 'relay.sqlite'), { readonly: true, fileMustExist: true });
  try {
    const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[])
      .map((t) => t.name)
      .filter((t) => t !== 'phone_challenges' && t !== 'phone_sessions');
    const rows = tables.map((t) => `${t}: ${JSON.stringify(db.prepare(`SELECT * FROM ${t}`).all(), (_k, v) => (v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v))}`);
    return [...files.sort(), ...rows].join('\n');
  } finally {
    db.close();
  }
}

/** How many phone login sessions the SQLite store at `dataDir` holds. */
export function storedSessions(dataDir: string): number {
  const db = new Database(path.join(dataDir, 'relay.sqlite'), { readonly: true, fileMustExist: true });
  try {
    return (db.prepare('SELECT COUNT(*) AS n FROM phone_sessions').get() as { n: number }).n;
  } finally {
    db.close();
  }
}

/** Every file under `dir`, recursively. */
export function allFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...allFiles(p));
    else out.push(p);
  }
  return out;
}

/** An HTTP request with the path sent exactly as given (fetch would normalise `..`). */
export function rawRequest(
  base: string,
  method: string,
  rawPath: string,
  o: { headers?: Record<string, string>; body?: Uint8Array | string } = {},
): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, method, path: rawPath, headers: o.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks).toString('utf8'), headers: res.headers }));
    });
    req.on('error', reject);
    req.end(o.body);
  });
}

/** Awaits a relay client call that must fail with this status and code. */
export async function expectApiError(p: Promise<unknown>, status: number, code: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof RelayApiError, String(e));
    assert.equal(e.status, status, e.message);
    assert.equal(e.code, code, e.message);
    return true;
  });
}

/** The error code in a relay error body. */
export function errorCode(body: string): string | undefined {
  try {
    return (JSON.parse(body) as { error?: { code?: string } }).error?.code;
  } catch {
    return undefined;
  }
}
