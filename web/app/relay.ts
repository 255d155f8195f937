/**
 * The relay's API from the page (docs/relay-api.md), on the page's own origin: the relay
 * serves the app at /app/ next to /v1/…, and `sealbell phone serve` passes /v1/… through.
 * Everything that comes back is checked by the caller (signatures, acknowledgements): the
 * relay is not trusted. The phone's secrets never go into a request: login sends a
 * signature over the relay's challenge and the public key.
 */
import { base64 } from '@scure/base';
import { authMessage } from '../../tools/relay/phone-auth-message.js';
import type { ClipInfo } from '../../tools/relay/http-api.js';
import type { HeldRosterView } from '../../tools/relay/rosters.js';
import type { SettingsView } from '../../tools/relay/settings.js';
import type { AuthSigner } from './phone-keys.js';

/** A refusal from the relay, with its error code (tools/relay/errors.ts), or a network failure. */
export class RelayError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const id = (s: string) => encodeURIComponent(s);

async function request(path: string, init: RequestInit = {}): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(`/${path}`, { cache: 'no-store', ...init });
  } catch (e) {
    throw new RelayError(0, 'RELAY_UNREACHABLE', `the relay cannot be reached: ${(e as Error).message}`);
  }
  if (res.ok) return res;
  let code = `HTTP_${res.status}`;
  let message = `the relay answered HTTP ${res.status}`;
  try {
    const body = (await res.json()) as { error?: { code?: string; message?: string } };
    code = body.error?.code ?? code;
    message = body.error?.message ?? message;
  } catch {
    // not a relay error body
  }
  throw new RelayError(res.status, code, message);
}

const json = async <T>(path: string, init?: RequestInit) => (await (await request(path, init)).json()) as T;
const bytes = async (path: string, init?: RequestInit) => new Uint8Array(await (await request(path, init)).arrayBuffer());

/** The relay's VAPID public key (RFC 8292), for `pushManager.subscribe`. */
export const pushKey = async () => (await json<{ publicKey: string }>('v1/push/key')).publicKey;

export const getEscrow = (account: string) => bytes(`v1/accounts/${id(account)}/escrow`);
export const putEscrow = (account: string, writeToken: string, blob: Uint8Array) =>
  request(`v1/accounts/${id(account)}/escrow`, { method: 'PUT', headers: { authorization: `Bearer ${writeToken}` }, body: blob as BufferSource });
export const deleteEscrow = (account: string, writeToken: string) =>
  request(`v1/accounts/${id(account)}/escrow`, { method: 'DELETE', headers: { authorization: `Bearer ${writeToken}` } });
export const authorityDevices = async (authorityId: string) => (await json<{ devices: string[] }>(`v1/authorities/${id(authorityId)}/devices`)).devices;
export const deviceKey = (device: string) => json<{ publicKey: string; endorsement?: string }>(`v1/devices/${id(device)}/key`);
/** The owner's signed settings (no session: the account authority's signature is the permission). */
export const publishSettings = (device: string, bundle: Uint8Array) => json<{ epoch: number }>(`v1/devices/${id(device)}/settings`, { method: 'PUT', body: bundle as BufferSource });
export const publishRoster = (device: string, bundle: Uint8Array) => json<{ epoch: number }>(`v1/devices/${id(device)}/roster`, { method: 'PUT', body: bundle as BufferSource });

/** A logged-in session for one doorbell (challenge signed with the phone's login key). */
export class Session {
  private constructor(
    readonly device: string,
    readonly token: string,
  ) {}

  static async login(relayOrigin: string, device: string, signer: AuthSigner): Promise<Session> {
    const base = `v1/devices/${id(device)}/auth`;
    const { challenge } = await json<{ challenge: string }>(`${base}/challenge`, { method: 'POST' });
    const signature = await signer.sign(authMessage(base64.decode(challenge), relayOrigin));
    const body = JSON.stringify({ challenge, publicKey: base64.encode(signer.publicKey), signature: base64.encode(signature) });
    const { token } = await json<{ token: string }>(`${base}/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    return new Session(device, token);
  }

  private get auth(): RequestInit {
    return { headers: { authorization: `Bearer ${this.token}` } };
  }

  private path(rest: string): string {
    return `v1/devices/${id(this.device)}/${rest}`;
  }

  async clips(): Promise<ClipInfo[]> {
    return (await json<{ clips: ClipInfo[] }>(this.path('clips'), this.auth)).clips;
  }

  clipPart(clip: string, part: 'age' | 'manifest' | 'signature'): Promise<Uint8Array> {
    return bytes(this.path(`clips/${id(clip)}/${part}`), this.auth);
  }

  /** The clip's sealed event notice and its signature (unchecked), or undefined when the relay has none. */
  async clipEvent(clip: string): Promise<{ sealed: Uint8Array; signature: string } | undefined> {
    try {
      const r = await json<{ event: string; signature: string }>(this.path(`clips/${id(clip)}/event`), this.auth);
      return { sealed: base64.decode(r.event), signature: r.signature };
    } catch (e) {
      if (e instanceof RelayError && e.code === 'UNKNOWN_EVENT') return undefined;
      throw e;
    }
  }

  heldRoster(): Promise<HeldRosterView> {
    return json<HeldRosterView>(this.path('roster/held'), this.auth);
  }

  /** What the relay says of the doorbell's signed settings (tools/relay/settings.ts): unchecked here. */
  settings(): Promise<SettingsView> {
    return json<SettingsView>(this.path('settings'), this.auth);
  }

  firmware(): Promise<{ firmware?: { version: string; board: string; security: number; trial?: boolean }; update?: { version: string; state: string } }> {
    return json(this.path('firmware'), this.auth);
  }

  /** Registers this browser's Web Push subscription: the relay pushes an opaque reference when the doorbell rings. */
  async subscribePush(sub: PushSubscriptionJSON): Promise<void> {
    await request(this.path('push'), { method: 'POST', headers: { authorization: `Bearer ${this.token}`, 'content-type': 'application/json' }, body: JSON.stringify(sub) });
  }

  /** The live socket: browsers cannot set headers, so the token rides as a subprotocol. */
  liveSocket(): WebSocket {
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const ws = new WebSocket(`${scheme}//${location.host}/${this.path('live')}`, ['sealbell.live', `sealbell.bearer.${this.token}`]);
    ws.binaryType = 'arraybuffer';
    return ws;
  }
}
