/**
 * The web viewer's page script (bundled for the browser by tools/viewer/server.ts
 * with esbuild). Everything secret stays in the page: it logs in to the relay
 * with the phone's Ed25519 key, decrypts live records and recorded clips with
 * the phone's age identity (noble, in the browser) and draws the frames as
 * they arrive. The relay, and the viewer's own server, see ciphertext only.
 *
 * State for people is in #status; for tests, in `window.sealbellViewer`.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { base64 } from '@scure/base';
import { concatBytes, utf8ToBytes } from '../../src/bytes.js';
import { nobleAead, nobleBackend, systemRandom } from '../../src/crypto/noble.js';
import { decodePublicKey } from '../../src/minisign.js';
import { ClipOpener } from '../../src/clip/opener.js';
import { verifySignedManifest } from '../../src/clip/signed-manifest.js';
import { LiveReceiver } from '../phone/live-receiver.js';

/** What the page needs: from the viewer's /config.json, or typed into the form. */
export interface ViewerConfig {
  /** the relay's origin as phones sign it (http://host:port) */
  relayOrigin: string;
  deviceId: string;
  /** AGE-SECRET-KEY-1… */
  identity: string;
  /** the phone's Ed25519 relay login key seed, base64 */
  authSeed: string;
  /** the doorbell's minisign public key text (device.pub) */
  devicePub: string;
}

interface ViewerState {
  state: string;
  error?: string;
  liveFrames: number;
  lastLive?: { ctr: number; time: number };
  dropped: number;
  clips: string[];
  clipFrames: number;
  clipVerified?: string;
}

const view: ViewerState = { state: 'idle', liveFrames: 0, dropped: 0, clips: [], clipFrames: 0 };
(globalThis as unknown as { sealbellViewer: ViewerState }).sealbellViewer = view;

const $ = <T extends ViewerElement = ViewerElement>(id: string) => document.getElementById(id) as T;
const status = (text: string) => {
  $('status').textContent = text;
};

/** The relay API through the viewer's same-origin proxy (/relay/…). */
const relayPath = (rest: string) => `/relay/${rest}`;

/** "sealbell-relay-auth-v1" ‖ challenge ‖ origin: the message tools/relay/phone-auth.ts checks. */
function authMessage(challenge: Uint8Array, origin: string): Uint8Array {
  return concatBytes(utf8ToBytes('sealbell-relay-auth-v1'), challenge, utf8ToBytes(origin));
}

async function json<T>(res: Response): Promise<T> {
  if (!res.ok) {
    let code = `HTTP ${res.status}`;
    try {
      code = ((await res.json()) as { error: { code: string } }).error.code;
    } catch {
      // not a relay error body
    }
    throw new Error(code);
  }
  return (await res.json()) as T;
}

async function login(c: ViewerConfig): Promise<string> {
  const base = `v1/devices/${encodeURIComponent(c.deviceId)}/auth`;
  const { challenge } = await json<{ challenge: string }>(await fetch(relayPath(`${base}/challenge`), { method: 'POST' }));
  const seed = base64.decode(c.authSeed);
  const signature = ed25519.sign(authMessage(base64.decode(challenge), c.relayOrigin), seed);
  const body = JSON.stringify({ challenge, publicKey: base64.encode(ed25519.getPublicKey(seed)), signature: base64.encode(signature) });
  const { token } = await json<{ token: string }>(
    await fetch(relayPath(`${base}/session`), { method: 'POST', headers: { 'content-type': 'application/json' }, body }),
  );
  return token;
}

/** Draws JPEG bytes on a canvas, one frame at a time (a frame that arrives while one is drawn waits its turn). */
function painter(canvas: ViewerCanvas) {
  let chain: Promise<void> = Promise.resolve();
  return (jpeg: Uint8Array) => {
    const copy = jpeg.slice();
    chain = chain.then(async () => {
      const bitmap = await createImageBitmap(new Blob([copy], { type: 'image/jpeg' }));
      if (canvas.width !== bitmap.width || canvas.height !== bitmap.height) {
        canvas.width = bitmap.width;
        canvas.height = bitmap.height;
      }
      canvas.getContext('2d')!.drawImage(bitmap, 0, 0);
      bitmap.close();
    });
    return chain;
  };
}

function readForm(): ViewerConfig {
  const v = (id: string) => $(id).value.trim();
  return { relayOrigin: v('relayOrigin'), deviceId: v('deviceId'), identity: v('identity'), authSeed: v('authSeed'), devicePub: v('devicePub') + '\n' };
}

function fillForm(c: ViewerConfig): void {
  for (const [k, val] of Object.entries(c)) {
    const el = document.getElementById(k);
    if (el) el.value = String(val).trim();
  }
}

let liveSocket: WebSocket | undefined;

async function startLive(): Promise<void> {
  const c = readForm();
  view.state = 'logging in';
  status('logging in to the relay…');
  const token = await login(c);
  const draw = painter($<ViewerCanvas>('live'));
  const receiver = new LiveReceiver({
    aead: nobleAead,
    random: systemRandom,
    identity: c.identity,
    devicePublicKey: decodePublicKey(c.devicePub).publicKey,
    device: c.deviceId,
    authSecretKey: base64.decode(c.authSeed),
    onFrame: (f) => {
      void draw(f.data).then(() => {
        view.liveFrames++;
        view.lastLive = { ctr: f.ctr, time: f.time };
        status(`live: frame ${f.ctr} (${new Date(f.time).toISOString().slice(11, 23)}), ${view.liveFrames} shown, ${view.dropped} dropped`);
      });
    },
    onDropped: () => view.dropped++,
  });
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const ws = (liveSocket = new WebSocket(`${scheme}//${location.host}${relayPath(`v1/devices/${encodeURIComponent(c.deviceId)}/live`)}`, ['sealbell.live', `sealbell.bearer.${token}`]));
  ws.binaryType = 'arraybuffer';
  view.state = 'connecting';
  ws.onmessage = (ev) => {
    const reply = receiver.handle(typeof ev.data === 'string' ? ev.data : new Uint8Array(ev.data as ArrayBuffer));
    if (reply) ws.send(reply);
    view.state = receiver.state;
    if (receiver.state === 'failed') {
      view.error = receiver.error?.code;
      status(`live view refused: ${receiver.error?.code}: ${receiver.error?.message}`);
      ws.close();
    }
  };
  ws.onclose = (ev) => {
    receiver.closed(ev.code, ev.reason);
    view.state = receiver.state;
    if (receiver.state === 'failed') view.error ??= receiver.error?.code;
    if (receiver.state === 'ended') status(`live view ended (${receiver.endReason}); ${view.liveFrames} frames shown`);
  };
}

function stopLive(): void {
  liveSocket?.close(1000);
}

async function listClips(): Promise<void> {
  const c = readForm();
  const token = await login(c);
  const { clips } = await json<{ clips: { clip: string; state: string; frames?: number }[] }>(
    await fetch(relayPath(`v1/devices/${encodeURIComponent(c.deviceId)}/clips`), { headers: { authorization: `Bearer ${token}` } }),
  );
  const list = $('clips');
  list.textContent = '';
  view.clips = clips.filter((x) => x.state === 'verified').map((x) => x.clip);
  for (const id of view.clips) {
    const b = document.createElement('button');
    b.textContent = id;
    b.dataset.clip = id;
    b.onclick = () => void playClip(id).catch(fail);
    list.appendChild(b);
  }
  status(`${view.clips.length} recorded clip(s)`);
}

/** Downloads a clip, checks its signed manifest, decrypts it in the page and shows its frames at their pace. */
async function playClip(id: string): Promise<void> {
  const c = readForm();
  const token = await login(c);
  const auth = { headers: { authorization: `Bearer ${token}` } };
  const base = relayPath(`v1/devices/${encodeURIComponent(c.deviceId)}/clips/${encodeURIComponent(id)}`);
  const fetchOk = async (url: string) => {
    const res = await fetch(url, auth);
    if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
    return new Uint8Array(await res.arrayBuffer());
  };
  const [age, manifestBytes, signature] = await Promise.all([fetchOk(`${base}/age`), fetchOk(`${base}/manifest`), fetchOk(`${base}/signature`)]);
  const manifest = verifySignedManifest(manifestBytes, new TextDecoder().decode(signature), decodePublicKey(c.devicePub));
  const frames: { timestamp: number; data: Uint8Array }[] = [];
  const opener = new ClipOpener({ backend: nobleBackend, identities: [c.identity], manifest, onFrame: (f) => frames.push({ timestamp: f.timestamp, data: f.data.slice() }) });
  opener.push(age);
  opener.end();
  view.clipVerified = id;
  const draw = painter($<ViewerCanvas>('clip'));
  let last = 0;
  for (const f of frames) {
    await new Promise((r) => setTimeout(r, Math.min(200, Math.max(0, f.timestamp - last))));
    last = f.timestamp;
    await draw(f.data);
    view.clipFrames++;
    status(`clip ${id}: frame ${view.clipFrames}/${frames.length} (signature and payload hash verified)`);
  }
}

function fail(e: unknown): void {
  view.state = 'failed';
  view.error = (e as Error).message;
  status(`error: ${(e as Error).message}`);
}

async function main(): Promise<void> {
  $('startLive').onclick = () => void startLive().catch(fail);
  $('stopLive').onclick = stopLive;
  $('listClips').onclick = () => void listClips().catch(fail);
  const t = new URLSearchParams(location.search).get('t');
  if (t) {
    const res = await fetch(`/config.json?t=${encodeURIComponent(t)}`);
    if (res.ok) fillForm((await res.json()) as ViewerConfig);
  }
  view.state = 'ready';
  status('ready');
}

void main().catch(fail);
