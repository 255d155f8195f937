/**
 * Live view across relay processes (docs/relay-api.md, "Live view" and
 * "Between relay processes"). A phone's live socket reaches relay B; the
 * doorbell's uplink is on relay A. B, having checked the phone's session, opens
 * a WebSocket to A's internal endpoint
 *
 *   GET /v1/internal/live/<device>   authorization: Bearer <hop secret>
 *                                    sealbell-phone: <the phone's base64 key>
 *
 * and passes every message both ways as it is (text stays text, binary stays
 * binary), and each side's close to the other. A treats it as a phone of its
 * own (LiveHub): it sends the hello, passes the start down the uplink and the
 * sealed frames back. Nothing is stored or decrypted on either relay.
 */
import type { IncomingMessage } from 'node:http';
import WebSocket from 'ws';
import { sameHash, tokenHash } from './tokens.js';

export const HOP_PATH = ['v1', 'internal', 'live'];
export const HOP_PHONE_HEADER = 'sealbell-phone';

/** A close code one side may send on (1005, 1006 and 1015 are only ever reported). */
function sendable(code: number): number {
  return code === 1005 || code === 1006 || code === 1015 || code < 1000 || code >= 5000 ? 1011 : code;
}

/** Joins the phone's socket (on this relay) to the device's relay process at `internalUrl`. */
export function hopLive(phone: WebSocket, internalUrl: string, device: string, phoneKey: string, secret: string, log: (line: string) => void): void {
  const url = `${internalUrl.replace(/^http/, 'ws')}/${HOP_PATH.join('/')}/${encodeURIComponent(device)}`;
  const peer = new WebSocket(url, { headers: { authorization: `Bearer ${secret}`, [HOP_PHONE_HEADER]: phoneKey }, perMessageDeflate: false, maxPayload: 1 << 20 });
  const early: { data: WebSocket.RawData; isBinary: boolean }[] = [];
  phone.on('message', (data, isBinary) => {
    if (peer.readyState === WebSocket.OPEN) peer.send(data, { binary: isBinary });
    else if (early.length < 8) early.push({ data, isBinary });
  });
  peer.on('open', () => {
    for (const m of early.splice(0)) peer.send(m.data, { binary: m.isBinary });
  });
  peer.on('message', (data, isBinary) => {
    if (phone.readyState === WebSocket.OPEN) phone.send(data, { binary: isBinary });
  });
  peer.on('close', (code, reason) => {
    if (phone.readyState === WebSocket.OPEN) phone.close(sendable(code), reason.toString().slice(0, 100));
  });
  peer.on('error', (e) => {
    log(`relay: live hop to another relay process failed: ${e.message}`);
    if (phone.readyState === WebSocket.OPEN) {
      phone.send(JSON.stringify({ t: 'error', code: 'DEVICE_OFFLINE', message: 'the relay process holding the doorbell cannot be reached' }));
      phone.close(4404, 'DEVICE_OFFLINE');
    }
  });
  phone.on('close', (code) => {
    if (peer.readyState === WebSocket.OPEN) peer.close(sendable(code));
    else peer.terminate();
  });
  phone.on('error', () => {});
}

/** The phone key of a hop request from another relay process, or undefined when it does not carry the hop secret. */
export function hopPhone(req: IncomingMessage, secret: string, bearer: string | undefined): string | undefined {
  if (!bearer || !sameHash(tokenHash(bearer), tokenHash(secret))) return undefined;
  const key = req.headers[HOP_PHONE_HEADER];
  return typeof key === 'string' && /^[A-Za-z0-9+/]{43}=$/.test(key) ? key : undefined;
}
