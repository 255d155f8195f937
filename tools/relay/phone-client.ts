/**
 * The phone's side of the relay, for `sealbell phone clips|fetch|watch`: log in
 * with the phone's Ed25519 key (signed challenge, no password), list clips,
 * download one to files, follow new ones as they arrive; roster and escrow blobs.
 *
 * A download checks what it can without the phone's age identity: with the
 * device's public key, the manifest signature and the payload hash, before the
 * files get their final names. Decrypting is `sealbell verify -i` (or any age tool).
 */
import type { SettingsView } from './settings.js';
import fs from 'node:fs';
import path from 'node:path';
import { ed25519 } from '@noble/curves/ed25519.js';
import WebSocket from 'ws';
import { PayloadVerifier } from '../../src/clip/opener.js';
import { verifySignedManifest } from '../../src/clip/signed-manifest.js';
import { isSafeId } from '../../src/clip/manifest.js';
import { decodePublicKey } from '../../src/minisign.js';
import { nobleBackend } from '../../src/crypto/noble.js';
import { authMessage } from './phone-auth.js';
import { idPath, RelayApiError, relayCaFor, relayJson, relayRequest, relayUrl } from './client-http.js';
import type { ClipInfo } from './http-api.js';
import type { OwnerRequestWire } from '../owner-request.js';
import type { ClipEvent } from './clip-events.js';
import type { HeldRosterView } from './rosters.js';
import type { FirmwareReport, UpdateStatus } from './updates.js';
import { CLIP_STATE_HEADER, ROSTER_EPOCH_HEADER, ROSTER_HELD_HEADER } from './http-api.js';

export { RelayApiError } from './client-http.js';
export type { ClipInfo } from './http-api.js';
export type { ClipEvent } from './clip-events.js';

/** The phone's relay login key (Ed25519). Separate from its age identity. */
export interface PhoneAuthKey {
  secretKey: Uint8Array;
  publicKey: Uint8Array;
}

export function newPhoneAuthKey(): PhoneAuthKey {
  const secretKey = ed25519.utils.randomSecretKey();
  return { secretKey, publicKey: ed25519.getPublicKey(secretKey) };
}

export function phoneAuthKeyFromSeed(seed: Uint8Array): PhoneAuthKey {
  return { secretKey: seed, publicKey: ed25519.getPublicKey(seed) };
}

export interface DownloadOptions {
  /** the device's minisign public key text: verify the signature and payload hash before keeping the files */
  devicePub?: string;
  /** also save a clip that is not verified (incomplete, still receiving, …) as <id>.age.partial */
  allowUnverified?: boolean;
}

export interface DownloadedClip {
  state: ClipInfo['state'];
  age: string;
  manifest?: string;
  signature?: string;
  /** true when checked against devicePub */
  checked: boolean;
}

export interface Following {
  close(): void;
  /** settles when the connection ends */
  closed: Promise<{ code: number; reason: string }>;
}

export class PhoneClient {
  private constructor(
    readonly relay: string,
    readonly device: string,
    private readonly token: string,
    /** the key it logged in with: the phone's roster auth key, which also signs its live requests */
    readonly authKey: PhoneAuthKey,
  ) {}

  /** Signs the relay's challenge with `key`; the key must be published for the device. */
  static async login(relay: string, device: string, key: PhoneAuthKey): Promise<PhoneClient> {
    const base = `v1/devices/${idPath(device)}/auth`;
    // A challenge is only ever a fresh random value: asking twice is harmless.
    const { challenge } = await relayJson<{ challenge: string }>(relay, `${base}/challenge`, { method: 'POST', idempotent: true });
    const origin = new URL(relay).origin;
    const signature = ed25519.sign(authMessage(new Uint8Array(Buffer.from(challenge, 'base64')), origin), key.secretKey);
    const { token } = await relayJson<{ token: string }>(relay, `${base}/session`, {
      method: 'POST',
      json: { challenge, publicKey: Buffer.from(key.publicKey).toString('base64'), signature: Buffer.from(signature).toString('base64') },
    });
    return new PhoneClient(relay, device, token, key);
  }

  /**
   * The same session at another relay process on the same database (behind a load balancer
   * without sticky sessions, any of them may answer): sessions are kept in the database.
   */
  at(relay: string): PhoneClient {
    return new PhoneClient(relay, this.device, this.token, this.authKey);
  }

  private path(rest: string): string {
    return `v1/devices/${idPath(this.device)}/${rest}`;
  }

  async clips(): Promise<ClipInfo[]> {
    return (await relayJson<{ clips: ClipInfo[] }>(this.relay, this.path('clips'), { token: this.token })).clips;
  }

  async clip(id: string): Promise<ClipInfo> {
    return relayJson<ClipInfo>(this.relay, this.path(`clips/${idPath(id)}`), { token: this.token });
  }

  /** The clip's manifest and signature as the relay has them (the caller checks them with the device key). */
  async signedManifest(id: string): Promise<{ manifest: Uint8Array; signature: string }> {
    const manifest = new Uint8Array(await (await relayRequest(this.relay, this.path(`clips/${idPath(id)}/manifest`), { token: this.token })).arrayBuffer());
    const signature = await (await relayRequest(this.relay, this.path(`clips/${idPath(id)}/signature`), { token: this.token })).text();
    return { manifest, signature };
  }

  /**
   * Saves a verified clip as <dir>/<id>.age, .manifest.json and .manifest.json.minisig
   * (what `sealbell verify` reads). Files appear only once complete (and checked).
   */
  async download(id: string, dir: string, o: DownloadOptions = {}): Promise<DownloadedClip> {
    if (!isSafeId(id)) throw new RelayApiError(400, 'BAD_ID', 'not a clip id');
    fs.mkdirSync(dir, { recursive: true });
    const info = await this.clip(id);
    const base = path.join(dir, id);
    if (info.state !== 'verified') {
      if (!o.allowUnverified) throw new RelayApiError(409, 'NOT_VERIFIED', `clip ${id} is ${info.state}${info.reason ? ` (${info.reason})` : ''}, not a verified clip`);
      const file = `${base}.age.partial`;
      const { state } = await this.saveAge(id, file);
      return { state, age: file, checked: false };
    }
    const { manifest, signature } = await this.signedManifest(id);
    let verifier: PayloadVerifier | undefined;
    if (o.devicePub) {
      const m = verifySignedManifest(manifest, signature, decodePublicKey(o.devicePub));
      if (m.clip !== id) throw new RelayApiError(502, 'MANIFEST_MISMATCH', `the relay served the manifest of clip ${m.clip} for ${id}`);
      verifier = new PayloadVerifier(nobleBackend, m);
    }
    const paths = { age: `${base}.age`, manifest: `${base}.manifest.json`, signature: `${base}.manifest.json.minisig` };
    await this.saveAge(id, `${paths.age}.part`, (chunk) => verifier?.push(chunk));
    try {
      verifier?.end();
    } catch (e) {
      fs.rmSync(`${paths.age}.part`, { force: true });
      throw e;
    }
    fs.writeFileSync(paths.manifest, manifest);
    fs.writeFileSync(paths.signature, signature);
    fs.renameSync(`${paths.age}.part`, paths.age);
    return { state: 'verified', ...paths, checked: verifier !== undefined };
  }

  private async saveAge(id: string, file: string, onChunk?: (b: Uint8Array) => void): Promise<{ state: ClipInfo['state'] }> {
    const res = await relayRequest(this.relay, this.path(`clips/${idPath(id)}/age`), { token: this.token });
    const fd = fs.openSync(file, 'w', 0o600);
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        onChunk?.(chunk);
        fs.writeSync(fd, chunk);
      }
    } finally {
      fs.closeSync(fd);
    }
    return { state: (res.headers.get(CLIP_STATE_HEADER) ?? 'receiving') as ClipInfo['state'] };
  }

  /** The live-view socket of the device, logged in as this phone (tools/phone/live.ts speaks on it). */
  liveSocket(): WebSocket {
    const url = relayUrl(this.relay, this.path('live')).replace(/^http/, 'ws');
    return new WebSocket(url, { headers: { authorization: `Bearer ${this.token}` }, perMessageDeflate: false, maxPayload: 1 << 20, ca: relayCaFor(url) });
  }

  /** Calls `onEvent` for every clip state change of the device until closed. Resolves once subscribed. */
  follow(onEvent: (e: ClipEvent) => void): Promise<Following> {
    const url = relayUrl(this.relay, this.path('follow')).replace(/^http/, 'ws');
    const ws = new WebSocket(url, { headers: { authorization: `Bearer ${this.token}` }, ca: relayCaFor(url) });
    let status: number | undefined;
    const closed = new Promise<{ code: number; reason: string }>((resolve) => {
      ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() }));
    });
    return new Promise((resolve, reject) => {
      ws.on('unexpected-response', (_req, res) => {
        status = res.statusCode;
        res.resume();
        ws.terminate();
      });
      ws.on('error', () => {});
      ws.on('message', (data) => {
        let m: { t?: string };
        try {
          m = JSON.parse(String(data));
        } catch {
          return;
        }
        if (m.t === 'hello') resolve({ close: () => ws.close(1000), closed });
        else if (m.t === 'clip' || m.t === 'event') onEvent(m as ClipEvent);
      });
      void closed.then(({ code }) => reject(new RelayApiError(status ?? 0, 'FOLLOW_FAILED', `could not follow: ${status ? `HTTP ${status}` : `closed ${code}`}`)));
    });
  }

  /** The newest roster (`epoch`: a pending update, if any) and the epoch the doorbell holds (`held`). */
  async getRoster(): Promise<{ epoch: number; held: number; blob: Uint8Array }> {
    const res = await relayRequest(this.relay, this.path('roster'), { token: this.token });
    const epoch = Number(res.headers.get(ROSTER_EPOCH_HEADER));
    return { epoch, held: Number(res.headers.get(ROSTER_HELD_HEADER) ?? epoch), blob: new Uint8Array(await res.arrayBuffer()) };
  }

  /**
   * What the relay says the doorbell holds, with the doorbell's acknowledgement, and the
   * pending run: unchecked here (tools/phone/roster-sync.ts checks the acknowledgement).
   */
  async heldRoster(): Promise<HeldRosterView> {
    return relayJson<HeldRosterView>(this.relay, this.path('roster/held'), { token: this.token });
  }

  /** The owner's requests the relay accepted for the doorbell (tools/owner-request.ts), unchecked: the caller checks the signatures. */
  async ownerRequests(): Promise<{ epoch: number; requests: (OwnerRequestWire & { received: number })[] }> {
    return relayJson(this.relay, this.path('owner-requests'), { token: this.token });
  }

  /** What the relay says of the doorbell's signed settings (tools/relay/settings.ts): unchecked here. */
  async settings(): Promise<SettingsView> {
    return relayJson<SettingsView>(this.relay, this.path('settings'), { token: this.token });
  }

  /** A sealed event notice by the reference a push or the follow socket gave (checked by the caller: src/event/event.ts). */
  async event(ref: string): Promise<{ sealed: Uint8Array; signature: string }> {
    if (!isSafeId(ref)) throw new RelayApiError(400, 'BAD_ID', 'not an event reference');
    const r = await relayJson<{ event: string; signature: string }>(this.relay, this.path(`events/${idPath(ref)}`), { token: this.token });
    return { sealed: new Uint8Array(Buffer.from(r.event, 'base64')), signature: r.signature };
  }

  /** Registers a Web Push subscription (endpoint and RFC 8291 keys) for this device. */
  async subscribePush(sub: { endpoint: string; keys: { p256dh: string; auth: string } }): Promise<void> {
    await relayJson(this.relay, this.path('push'), { token: this.token, method: 'POST', json: sub });
  }

  /** What the doorbell last said it runs, and the state of its firmware update (tools/relay/updates.ts). */
  async firmware(): Promise<{ firmware?: FirmwareReport; update?: UpdateStatus }> {
    return relayJson(this.relay, this.path('firmware'), { token: this.token });
  }

}

/**
 * Publishes a roster update signed by the account authority (no session: the signature is the
 * permission). 403 ROSTER_SIGNATURE if another key signed it, 409 STALE_EPOCH unless it is newer.
 */
export async function publishRoster(relay: string, device: string, bundle: Uint8Array): Promise<number> {
  return (await relayJson<{ epoch: number }>(relay, `v1/devices/${idPath(device)}/roster`, { method: 'PUT', body: bundle })).epoch;
}

/** Sends an owner's signed request (retention or deletion); no session: the signature is the permission. */
export async function postOwnerRequest(relay: string, device: string, wire: OwnerRequestWire): Promise<Record<string, unknown>> {
  return relayJson(relay, `v1/devices/${idPath(device)}/owner-requests`, { method: 'POST', json: wire });
}

/** The device's public key as registered, with the account authority's endorsement of it (check it!). */
export async function deviceKey(relay: string, device: string): Promise<{ publicKey: string; endorsement?: string }> {
  return relayJson(relay, `v1/devices/${idPath(device)}/key`);
}

/** The doorbells whose current roster the account authority (by minisign key id) signed. */
export async function authorityDevices(relay: string, authorityId: string): Promise<string[]> {
  return (await relayJson<{ devices: string[] }>(relay, `v1/authorities/${idPath(authorityId)}/devices`)).devices;
}

/** Stores the account escrow (an age file with a passphrase recipient). The first write sets `writeToken`. */
export async function putEscrow(relay: string, account: string, writeToken: string, blob: Uint8Array): Promise<void> {
  await relayRequest(relay, `v1/accounts/${idPath(account)}/escrow`, { method: 'PUT', token: writeToken, body: blob });
}

/** Drops the account escrow (after a revocation moved the account to a new passphrase). */
export async function deleteEscrow(relay: string, account: string, writeToken: string): Promise<void> {
  await relayRequest(relay, `v1/accounts/${idPath(account)}/escrow`, { method: 'DELETE', token: writeToken });
}

export async function getEscrow(relay: string, account: string): Promise<Uint8Array> {
  return new Uint8Array(await (await relayRequest(relay, `v1/accounts/${idPath(account)}/escrow`)).arrayBuffer());
}
