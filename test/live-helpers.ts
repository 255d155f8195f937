/**
 * Fixtures for the live-view tests: a relay on loopback, a doorbell on the real core
 * (LiveSessions on its Uplink, a signed roster the relay learns from it), a camera
 * pumped in simulated time with real I/O in between, phones, and a TCP wiretap.
 */
import net from 'node:net';
import { generateIdentity, identityToRecipient } from '../src/age/x25519.js';
import { signingKeyFromSeed, type SigningKey } from '../src/minisign.js';
import { encodeAuthKey, rosterHash, signRoster, type Roster } from '../src/roster/roster.js';
import { encodeRosterBundle } from '../src/roster/bundle.js';
import { recipientsOf, RosterStore } from '../src/roster/roster-store.js';
import { DeviceRoster } from '../src/roster/device-roster.js';
import { nobleAead } from '../src/crypto/noble.js';
import { LiveSessions } from '../src/live/sessions.js';
import { SyntheticCamera } from '../hosts/node/camera.js';
import { phoneAuthKeyFromSeed, PhoneClient, type PhoneAuthKey } from '../tools/relay/phone-client.js';
import { watchLive, type LiveResult } from '../tools/phone/live.js';
import { MemoryStore, seededRandom } from './helpers.js';
import { awaitingRelay, drive, sleep, startTestRelay, T0, TestDevice, type Clock } from './relay-helpers.js';

export interface Phone {
  name: string;
  identity: string;
  auth: PhoneAuthKey;
}

export const phone = (name: string): Phone => ({
  name,
  identity: generateIdentity(seededRandom(`live-relay/${name}/age`)),
  auth: phoneAuthKeyFromSeed(seededRandom(`live-relay/${name}/auth`)(32)),
});

export const authority = signingKeyFromSeed(seededRandom('live-relay/authority')(32));
export const [alice, bob, mallory] = ['alice', 'bob', 'mallory'].map(phone);

/** A roster of `phones` at `epoch`; an update names the roster it replaces (`after`). */
export function rosterOf(device: string, epoch: number, phones: Phone[], after?: Roster): Roster {
  return {
    v: 1,
    device,
    epoch,
    prev: after ? rosterHash(after) : null,
    phones: phones.map((p) => ({ name: p.name, recipient: identityToRecipient(p.identity), auth: encodeAuthKey(p.auth.publicKey) })),
    history: null,
  };
}

export const rosterBundle = (r: Roster, key: SigningKey = authority) => encodeRosterBundle(signRoster(r, key));

/** A TCP pass-through that keeps every byte going either way (what a wiretap on the relay would see). */
export async function tap(target: number): Promise<{ port: number; bytes: () => Buffer; close: () => void }> {
  const seen: Buffer[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(target, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.on('data', (d) => {
      seen.push(d);
      upstream.write(d);
    });
    upstream.on('data', (d) => {
      seen.push(d);
      client.write(d);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    bytes: () => Buffer.concat(seen),
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

export interface LiveSetupOptions {
  phones?: Phone[];
  tapDevice?: boolean;
  maxDuration?: number;
  /** the camera (default: the hosted simulator's synthetic camera, 160×120) */
  capture?: (n: number, time: number) => Uint8Array;
  width?: number;
  height?: number;
  /** the device clock's start (default T0); a phone that signs with the real clock needs the real time */
  start?: number;
  /** a relay already running (e.g. in a process of its own) instead of a new in-process one; its stats are not available */
  relay?: { url: string; uplinkUrl: string; port: number };
}

export async function liveSetUp(seed: string, o: LiveSetupOptions = {}) {
  const relay = o.relay ? (o.relay as Awaited<ReturnType<typeof startTestRelay>>) : await startTestRelay();
  const tapped = o.tapDevice ? await tap(relay.port) : undefined;
  const clock: Clock = { now: o.start ?? T0 };
  const kv = new MemoryStore();
  const camera = new SyntheticCamera({ width: o.width ?? 160, height: o.height ?? 120 });
  const capture = o.capture ?? ((n: number, t: number) => camera.capture(n, t));
  let sessions: LiveSessions | undefined;
  const uplinkUrl = tapped ? `ws://127.0.0.1:${tapped.port}/v1/uplink` : relay.uplinkUrl;
  const dev = await TestDevice.create({
    seed,
    relay: { url: relay.url, uplinkUrl },
    clock,
    kv,
    uplink: {
      live: {
        onLiveRequest: (r, now) => sessions!.onLiveRequest(r, now),
        onLiveStop: (s) => sessions!.onLiveStop(s),
        onLiveDisconnect: () => sessions!.onLiveDisconnect(),
      },
    },
    roster: (identity, doorbell) => {
      const rosters = new RosterStore(kv, identity.deviceId);
      if (!rosters.load()) rosters.accept(rosterBundle(rosterOf(identity.deviceId, 1, o.phones ?? [alice, bob])), authority.publicKey);
      doorbell.setRecipients(recipientsOf(rosters.load()!.roster));
      return new DeviceRoster({ rosters, identity, onChange: (r) => doorbell.setRecipients(recipientsOf(r.roster)) });
    },
  });
  const rosters = new RosterStore(kv, dev.id);
  sessions = new LiveSessions({
    aead: nobleAead,
    random: dev.random,
    identity: dev.identity,
    roster: () => rosters.load()?.roster,
    width: o.width ?? 160,
    height: o.height ?? 120,
    maxDuration: o.maxDuration,
  });
  sessions.attach(dev.uplink);
  dev.uplink.start(clock.now);
  await drive(clock, [dev], () => dev.uplink.state === 'ready', { what: 'connect' });
  // the relay has heard the roster: a roster phone can log in
  for (let i = 0; ; i++) {
    const ok = await PhoneClient.login(relay.url, dev.id, (o.phones ?? [alice])[0].auth).then(() => true, () => false);
    if (ok) break;
    if (i > 200) throw new Error('the relay never learnt the roster');
    await sleep(5);
  }
  let frameNo = 0;
  /**
   * The camera runs while someone watches: one frame per 100 ms of simulated time, with real I/O in
   * between. Time (and the camera) holds while the uplink awaits the relay, so a busy machine cannot
   * make the device's connect or acknowledgement timeouts fire; `rounds` bounds the simulated steps,
   * a generous 60 s the waits on real I/O.
   */
  const pump = async (until: () => boolean, what: string, rounds = 2000) => {
    const deadline = Date.now() + 60_000;
    for (let steps = 0; steps < rounds && Date.now() < deadline && !until(); ) {
      if (!awaitingRelay([dev])) {
        steps++;
        clock.now += 100;
        if (sessions!.active) sessions!.frame(capture(frameNo++, clock.now), clock.now);
        else sessions!.tick(clock.now);
      }
      dev.uplink.tick(clock.now);
      await sleep(3);
    }
    if (!until()) throw new Error(`did not happen: ${what}`);
  };
  return { relay, clock, dev, rosters, sessions, pump, tapped };
}

export type LiveEnv = Awaited<ReturnType<typeof liveSetUp>>;

/**
 * Watches until `frames` frames arrived, then leaves, while the camera pumps; resolves with the
 * result and the frames. Waits for events, not for real time: `seconds` only bounds a watch that
 * never gets its frames (the device ending the session first ends it too).
 */
/** `o.client`: a session made already (else `who` logs in at env.relay.url). */
export async function watch(env: LiveEnv, who: Phone, o: { frames: number; seconds?: number; client?: PhoneClient }) {
  const client = o.client ?? (await PhoneClient.login(env.relay.url, env.dev.id, who.auth));
  const frames: { ctr: number; time: number; data: Uint8Array }[] = [];
  const leave = new AbortController();
  let done = false;
  let result: LiveResult | undefined;
  let error: unknown;
  const p = watchLive({
    client,
    identity: who.identity,
    devicePub: env.dev.identity.publicKeyText,
    seconds: o.seconds ?? 120,
    leave: leave.signal,
    now: () => env.clock.now,
    onFrame: (f) => {
      frames.push({ ...f, data: f.data.slice() });
      if (frames.length >= o.frames) leave.abort();
    },
  })
    .then(
      (r) => (result = r),
      (e) => (error = e),
    )
    .finally(() => (done = true));
  await env.pump(() => done, 'the watch ends');
  await p;
  return { result, error, frames };
}

export { T0 };
