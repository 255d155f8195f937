/**
 * Live view in the page: a signed live request over the relay's socket, the doorbell's sealed
 * records opened with the phone's identity (tools/phone/live-receiver.ts), each JPEG drawn on
 * a canvas as it arrives. The relay passes sealed records only. The phone's keys may be
 * WebCrypto keys (asynchronous), so messages go through the receiver's handleAsync, in order.
 */
import { nobleAead, systemRandom } from '../../src/crypto/noble.js';
import { decodePublicKey } from '../../src/minisign.js';
import { LiveReceiver } from '../../tools/phone/live-receiver.js';
import type { Session } from './relay.js';
import { authSignerOf, identitiesFor, type PhoneSecrets } from './phone-keys.js';

export interface LiveCallbacks {
  onFrame(f: { ctr: number; time: number; data: Uint8Array }): void;
  onDropped(): void;
  /** the session ended: `error` when refused or cut, else the doorbell's or the phone's reason */
  onEnd(outcome: { error?: { code: string; message: string }; reason?: string }): void;
}

export interface LiveView {
  /** leave: the doorbell ends the session (a normal close, not an error) */
  stop(): void;
}

export function watchLive(session: Session, phone: PhoneSecrets, devicePub: string, cb: LiveCallbacks): LiveView {
  let stopped = false;
  let ended = false;
  const end = (o: Parameters<LiveCallbacks['onEnd']>[0]) => {
    if (ended) return;
    ended = true;
    cb.onEnd(o);
  };
  const receiver = new LiveReceiver({
    aead: nobleAead,
    random: systemRandom,
    identityFor: async (shares) => (await identitiesFor(phone, shares))[0],
    sign: authSignerOf(phone).sign,
    devicePublicKey: decodePublicKey(devicePub).publicKey,
    device: session.device,
    onFrame: (f) => cb.onFrame(f),
    onDropped: () => cb.onDropped(),
  });
  const ws = session.liveSocket();
  ws.onmessage = (ev) => {
    void receiver.handleAsync(typeof ev.data === 'string' ? ev.data : new Uint8Array(ev.data as ArrayBuffer)).then((reply) => {
      if (reply && ws.readyState === ws.OPEN) ws.send(reply);
      if (receiver.state === 'failed') {
        end({ error: { code: receiver.error?.code ?? 'LIVE_FAILED', message: receiver.error?.message ?? 'live view failed' } });
        ws.close();
      }
    });
  };
  ws.onclose = (ev) => {
    // Leaving is not a failure: the receiver would call the cut socket LIVE_CUT.
    if (stopped) return end({ reason: 'you left' });
    void receiver.closedAsync(ev.code, ev.reason).then(() => {
      if (receiver.state === 'failed') end({ error: { code: receiver.error?.code ?? 'LIVE_FAILED', message: receiver.error?.message ?? 'live view failed' } });
      else end({ reason: receiver.endReason ?? 'ended' });
    });
  };
  return {
    stop() {
      stopped = true;
      ws.close(1000);
    },
  };
}
