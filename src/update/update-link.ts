/**
 * The Updater on the uplink (src/uplink/update-wire.ts): tells the relay the firmware after
 * each hello (reaching the relay is the last step of a trial image's self-test), takes an
 * offer, asks for the image piece by piece from the offset it has (so a dropped connection
 * resumes where it stopped), and reports a refusal with its code.
 */
import { base64 } from '@scure/base';
import { utf8ToBytes } from '../bytes.js';
import { SealbellError } from '../errors.js';
import type { Log } from '../host.js';
import type { UpdateDeviceMessage, UpdateRelayMessage } from '../uplink/update-wire.js';
import type { Updater } from './updater.js';

export interface UpdateLinkOptions {
  updater: Updater;
  /** the image is written, checked and set to boot: restart (after the message is out) */
  onInstalled(): void;
  log?: Log;
}

export type SendUpdate = (m: UpdateDeviceMessage) => void;

export class UpdateLink {
  private readonly log: Log;

  constructor(private readonly o: UpdateLinkOptions) {
    this.log = o.log ?? (() => {});
  }

  /** A new connection (hello received): the relay learns what runs here. */
  connected(send: SendUpdate, now: number): void {
    const u = this.o.updater;
    u.selfTest('relay', now);
    const f = u.firmware;
    send({ t: 'firmware', board: f.board, version: f.version, security: f.security, recorded: f.recorded, trial: f.trial });
  }

  message(m: UpdateRelayMessage, send: SendUpdate): void {
    const u = this.o.updater;
    let release: string | undefined;
    try {
      switch (m.t) {
        case 'update': {
          const offer = u.offer({
            release: utf8ToBytes(m.release),
            releaseSignature: m.releaseSignature,
            authorization: m.authorization === undefined ? undefined : utf8ToBytes(m.authorization),
            authorizationSignature: m.authorizationSignature,
          });
          release = offer.id;
          return send({ t: 'update-want', release: offer.id, offset: offer.offset });
        }
        case 'update-data': {
          release = m.release;
          let bytes: Uint8Array;
          try {
            bytes = base64.decode(m.data);
          } catch {
            throw new SealbellError('WIRE_FORMAT', 'update-data: bad base64');
          }
          const next = u.data(m.release, m.offset, bytes);
          if (next !== 'installed') return send({ t: 'update-want', release: m.release, offset: next });
          send({ t: 'update-installed', release: m.release });
          return this.o.onInstalled();
        }
        case 'update-end':
          release = m.release;
          return u.end(m.release);
      }
    } catch (e) {
      const code = e instanceof SealbellError ? e.code : 'UPDATE_FAILED';
      const message = (e as Error).message.slice(0, 300);
      this.log(`update: refused: ${code}: ${message}`);
      if (code === 'UPDATE_OFFSET') return; // a late repeat of a piece: the next want says where we are
      send(release === undefined ? { t: 'update-refused', code, message } : { t: 'update-refused', release, code, message });
    }
  }

  /** The connection went: keep what is written; the next connection's offer resumes it. */
  disconnected(): void {}
}
