/**
 * The service worker's side of a doorbell push (docs/event-format.md, docs/relay-api.md "Push").
 *
 * A push carries only {"v":1,"device","ref"}. `handlePush` fetches the sealed event the
 * reference names from the relay (logged in as this phone), checks the doorbell's signature,
 * opens it with the phone's age identities, refuses one already shown or too old, and returns
 * what to show: "Front door — someone rang" with the local time, the poster frame as an
 * image, and the URL a tap opens (live view). Everything it needs comes in `deps`, so the
 * service worker wires in its key store (IndexedDB) and the tests wire in files.
 *
 * Browser code: no Node imports; it runs unchanged in Node (tests) and in a service worker.
 */
import { base64 } from '@scure/base';
import { ed25519 } from '@noble/curves/ed25519.js';
import { nobleBackend } from '../../src/crypto/noble.js';
import { decodePublicKey } from '../../src/minisign.js';
import { SealbellError } from '../../src/errors.js';
import { concatBytes, utf8ToBytes } from '../../src/bytes.js';
import { isSafeId } from '../../src/clip/manifest.js';
import { headerShares } from '../../src/age/header.js';
import type { IdentityInput } from '../../src/age/recipients.js';
import { checkFresh, openEvent, DEFAULT_MAX_EVENT_AGE, type OpenedEvent, type SeenEvents } from '../../src/event/event.js';
import { defaultDoorbellName, eventClock, eventTitle } from './notice-text.js';

export type { SeenEvents, OpenedEvent };

/** The part of `fetch` used here (the service worker's global fetch fits). */
export type FetchLike = (
  url: string,
  init?: { method?: string; headers?: Record<string, string>; body?: string },
) => Promise<{ status: number; ok: boolean; json(): Promise<unknown> }>;

export interface PushDeps {
  fetch: FetchLike;
  /** the relay this phone reaches the doorbell through (e.g. https://relay.example) */
  relayUrl(deviceId: string): string | Promise<string>;
  /** a bearer session for the doorbell on its relay (see `relayLogin`) */
  session(deviceId: string): Promise<string>;
  /**
   * this phone's age identities (AGE-SECRET-KEY-1… / AGE-SECRET-KEY-PQ-1…), or, for keys held
   * outside JavaScript, identities prepared for the event header's X25519 `shares`
   */
  identities(deviceId: string, shares: string[]): Promise<IdentityInput[]>;
  /** the doorbell's minisign public key text, as learnt at setup or enrolment */
  devicePublicKey(deviceId: string): Promise<string>;
  /** the name the owner gave the doorbell */
  doorbellName?(deviceId: string): Promise<string | undefined> | string | undefined;
  /** events already shown: each is shown once */
  seen: SeenEvents;
  now?(): number;
  /** default: the phone's own */
  timeZone?: string;
  /** how the poster becomes an image URL (default a data: URL; a service worker may use a blob: URL) */
  posterUrl?(jpeg: Uint8Array): string;
  /** older events are refused as stale (default 10 minutes) */
  maxAge?: number;
}

/** The arguments of `registration.showNotification(title, options)`. */
export interface NotificationToShow {
  title: string;
  options: {
    body: string;
    /** the poster frame: shown large where the platform supports it… */
    image?: string;
    /** …and as the icon everywhere */
    icon?: string;
    /** one notification per clip: a repeat replaces, not stacks */
    tag: string;
    timestamp: number;
    requireInteraction?: boolean;
    data: { url: string; deviceId: string; clip?: string; code?: string };
  };
}

export interface PushPayload {
  v: 1;
  device: string;
  ref: string;
}

/** The push's payload (text, bytes or parsed JSON); PUSH_PAYLOAD when it is not a doorbell push. */
export function parsePushPayload(data: unknown): PushPayload {
  let v = data;
  if (v instanceof Uint8Array) v = new TextDecoder().decode(v);
  if (typeof v === 'string') {
    try {
      v = JSON.parse(v);
    } catch {
      throw new SealbellError('PUSH_PAYLOAD', 'the push is not JSON');
    }
  }
  const p = v as Partial<PushPayload> | null;
  if (!p || typeof p !== 'object' || p.v !== 1 || typeof p.device !== 'string' || !/^[0-9A-F]{16}$/.test(p.device) || typeof p.ref !== 'string' || !isSafeId(p.ref)) {
    throw new SealbellError('PUSH_PAYLOAD', 'the push is not a doorbell event reference');
  }
  return { v: 1, device: p.device, ref: p.ref };
}

/** Where a tap goes: live view of the doorbell in the web app. */
export const liveUrl = (deviceId: string): string => `/app/#/live/${deviceId}`;

/** What to show for an opened event. */
export function notificationFor(e: OpenedEvent, o: { name?: string; timeZone?: string; posterUrl?: (jpeg: Uint8Array) => string } = {}): NotificationToShow {
  const image = e.poster ? (o.posterUrl ?? jpegDataUrl)(e.poster) : undefined;
  return {
    title: eventTitle(o.name ?? defaultDoorbellName(e.device), e.trigger),
    options: {
      body: eventClock(e.time, o.timeZone),
      ...(image ? { image, icon: image } : {}),
      tag: `${e.device}/${e.clip}`,
      timestamp: e.time,
      data: { url: liveUrl(e.device), deviceId: e.device, clip: e.clip },
    },
  };
}

/**
 * What to show when a push cannot be trusted or opened: a browser shows something for every
 * push anyway, so it says plainly that a notice was refused, and why.
 */
export function refusalNotification(deviceId: string | undefined, e: unknown, name?: string): NotificationToShow {
  const code = e instanceof SealbellError ? e.code : 'EVENT_FETCH';
  const who = name ?? (deviceId ? defaultDoorbellName(deviceId) : 'Doorbell');
  return {
    title: `${who} — a notice was refused`,
    options: {
      body: `${(e as Error).message} [${code}]`,
      tag: `refused/${deviceId ?? ''}`,
      timestamp: Date.now(),
      data: { url: deviceId ? liveUrl(deviceId) : '/app/', deviceId: deviceId ?? '', code },
    },
  };
}

/** Fetches, checks and opens the event a push names; the notification for it. Throws SealbellError (EVENT_*, PUSH_PAYLOAD). */
export async function handlePush(payload: unknown, deps: PushDeps): Promise<NotificationToShow> {
  const p = parsePushPayload(payload);
  const { sealed, signature } = await fetchEvent(p, deps);
  const e = openEvent(sealed, signature, {
    aead: nobleBackend.aead,
    device: decodePublicKey(await deps.devicePublicKey(p.device)),
    identities: await deps.identities(p.device, headerShares(sealed)),
  });
  await checkFresh(e, deps.seen, deps.now?.() ?? Date.now(), deps.maxAge ?? DEFAULT_MAX_EVENT_AGE);
  return notificationFor(e, { name: (await deps.doorbellName?.(p.device)) ?? undefined, timeZone: deps.timeZone, posterUrl: deps.posterUrl });
}

/** `handlePush`, or the refusal to show when it throws: what a service worker's push listener calls. */
export async function notificationForPush(payload: unknown, deps: PushDeps): Promise<NotificationToShow> {
  try {
    return await handlePush(payload, deps);
  } catch (e) {
    let device: string | undefined;
    try {
      device = parsePushPayload(payload).device;
    } catch {
      device = undefined;
    }
    const name = device ? ((await Promise.resolve(deps.doorbellName?.(device)).catch(() => undefined)) ?? undefined) : undefined;
    return refusalNotification(device, e, name);
  }
}

async function fetchEvent(p: PushPayload, deps: PushDeps): Promise<{ sealed: Uint8Array; signature: string }> {
  const base = (await deps.relayUrl(p.device)).replace(/\/+$/, '');
  const token = await deps.session(p.device);
  let res;
  try {
    res = await deps.fetch(`${base}/v1/devices/${p.device}/events/${p.ref}`, { headers: { authorization: `Bearer ${token}` } });
  } catch (e) {
    throw new SealbellError('EVENT_FETCH', `the relay is unreachable: ${(e as Error).message}`);
  }
  const body = (await res.json().catch(() => ({}))) as { event?: unknown; signature?: unknown; error?: { code?: string; message?: string } };
  if (!res.ok) {
    const code = body.error?.code === 'UNKNOWN_EVENT' ? 'EVENT_UNKNOWN' : 'EVENT_FETCH';
    throw new SealbellError(code, `the relay answered ${res.status}${body.error?.code ? ` ${body.error.code}` : ''}`);
  }
  if (typeof body.event !== 'string' || typeof body.signature !== 'string') throw new SealbellError('EVENT_FORMAT', 'the relay\'s answer has no event');
  let sealed: Uint8Array;
  try {
    sealed = base64.decode(body.event);
  } catch {
    throw new SealbellError('EVENT_FORMAT', 'the event is not base64');
  }
  return { sealed, signature: body.signature };
}

/** A JPEG as a data: URL (what showNotification takes for `image` and `icon`). */
export function jpegDataUrl(jpeg: Uint8Array): string {
  return `data:image/jpeg;base64,${base64.encode(jpeg)}`;
}

const AUTH_CONTEXT = 'sealbell-relay-auth-v1';

/** A phone's login key: its Ed25519 seed, or a key that signs asynchronously (WebCrypto) with its public half. */
export type LoginKey = Uint8Array | { publicKey: Uint8Array; sign(message: Uint8Array): Promise<Uint8Array> };

/**
 * Logs in to the relay as this phone (docs/relay-api.md, "Phone login"): signs the relay's
 * challenge with the phone's Ed25519 auth key; returns the bearer token.
 */
export async function relayLogin(fetchFn: FetchLike, relayUrl: string, deviceId: string, key: LoginKey): Promise<string> {
  const base = relayUrl.replace(/\/+$/, '');
  const json = { 'content-type': 'application/json' };
  const c = await fetchFn(`${base}/v1/devices/${deviceId}/auth/challenge`, { method: 'POST', headers: json, body: '{}' });
  const { challenge } = (await c.json()) as { challenge?: string };
  if (!c.ok || typeof challenge !== 'string') throw new SealbellError('EVENT_FETCH', `the relay refused a login challenge (${c.status})`);
  const origin = originOf(base);
  const message = concatBytes(utf8ToBytes(AUTH_CONTEXT), base64.decode(challenge), utf8ToBytes(origin));
  const signature = key instanceof Uint8Array ? ed25519.sign(message, key) : await key.sign(message);
  const publicKey = key instanceof Uint8Array ? ed25519.getPublicKey(key) : key.publicKey;
  const s = await fetchFn(`${base}/v1/devices/${deviceId}/auth/session`, {
    method: 'POST',
    headers: json,
    body: JSON.stringify({ challenge, publicKey: base64.encode(publicKey), signature: base64.encode(signature) }),
  });
  const { token } = (await s.json()) as { token?: string };
  if (!s.ok || typeof token !== 'string') throw new SealbellError('EVENT_FETCH', `the relay refused this phone's login (${s.status})`);
  return token;
}

/** scheme://host[:port] of a URL, as the relay names itself in what phones sign (no URL global needed). */
function originOf(url: string): string {
  const m = /^([a-z][a-z0-9+.-]*:\/\/[^/?#]+)/i.exec(url);
  if (!m) throw new SealbellError('EVENT_FETCH', 'the relay URL is not absolute');
  return m[1].toLowerCase();
}
