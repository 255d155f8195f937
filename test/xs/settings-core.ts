/**
 * XS conformance entry for signed settings (src/settings, docs/settings-format.md): the vector's
 * document parses and its signature and acknowledgement come out byte for byte the same under
 * XS, and the doorbell's SettingsStore takes it and refuses an altered, foreign, replayed,
 * misdirected or out-of-range one with the same codes as in Node. Bundled and run by
 * test/settings-xs.test.ts; the same `cases` run in Node there as the reference.
 */
import { hexToBytes, utf8Decode, utf8ToBytes } from '../../src/bytes.js';
import { SealbellError } from '../../src/errors.js';
import { MemoryKeyValueStore } from '../../src/memory-store.js';
import { signingKeyFromSeed } from '../../src/minisign.js';
import { encodeSettings, encodeSettingsBundle, signSettings, signSettingsAck, signSettingsBytes, type Settings } from '../../src/settings/settings.js';
import { SettingsStore } from '../../src/settings/settings-store.js';
import { runCases, type Case } from '../../tools/xs/guest.js';

// test/vectors/settings-v1.json
const AUTHORITY_SEED = '4eae1df94f604a37b2dd07f8764de008fdf60481fe4f5d64082a45dd0e24f559';
const DEVICE_SEED = '5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e';
const JSON_TEXT = "{\"v\":1,\"device\":\"52AD0E9612E68C09\",\"epoch\":7,\"clipSeconds\":15,\"prerollSeconds\":3,\"zones\":[\"....\",\"AABB\",\"AABB\"],\"sensitivity\":60}";
const SIGNATURE = "untrusted comment: sealbell settings, signed by the account authority\nRUQw+aHIKGPofCP97qyaIQAYKEa1h9Vv4Q21VqpOk3LsqwlxOiqZCz4u5oRP5OPhFiXLsVlWlYh6c+uiyOphjUxfC1CEhwcuew4=\ntrusted comment: sealbell settings v1 device 52AD0E9612E68C09 epoch 7\nDo25pfk7xYtcAYcRzySpXqJwDr2cRnopVOKK3hCQMZ0ZsnFuW1hDo8mfodQR8FCWlQ8otWhz+mRJcodBii23DA==\n";
const ACK = "untrusted comment: sealbell settings acknowledgement, device 52AD0E9612E68C09\nRUQJjOYSlg6tUn+MCh/tEmnA/sPNXQYBIwGSvZgsd3dBlYXVyvXPoqchdBuSZF2hbHKCd8e80qgyJUYUYKa9ZvwM/90XsW0YWgg=\ntrusted comment: sealbell settings-ack v1 device 52AD0E9612E68C09 epoch 7\nRD5zKyAz30vuQfoRgNQyj4Ck138Dg5ZC3f4GOuzxWOlZ+HdhMI2a1mQL3QEYElS/wyjHpL+gPrz/AHLO5zAZDA==\n";
const BUNDLE = '5342543100817b2276223a312c22646576696365223a2235324144304539363132453638433039222c2265706f6368223a372c22636c69705365636f6e6473223a31352c22707265726f6c6c5365636f6e6473223a332c227a6f6e6573223a5b222e2e2e2e222c2241414242222c2241414242225d2c2273656e7369746976697479223a36307d014a756e7472757374656420636f6d6d656e743a207365616c62656c6c2073657474696e67732c207369676e656420627920746865206163636f756e7420617574686f726974790a525551772b6148494b47506f6643503937717961495141594b45613168395676345132315671704f6b334c7371776c784f69715a437a3475356f5250354f50684669584c73566c576c596836632b7569794f70686a55786643314345687763756577343d0a7472757374656420636f6d6d656e743a207365616c62656c6c2073657474696e67732076312064657669636520353241443045393631324536384330392065706f636820370a446f323570666b3778597463415963527a79537058714a7744723263526e6f70564f4b4b336843514d5a305a736e4675573168446f386d666f645152384643576c51386f7457687a2b6d524a636f64426969323344413d3d0a';

const authority = () => signingKeyFromSeed(hexToBytes(AUTHORITY_SEED));
const settings = (): Settings => JSON.parse(JSON_TEXT) as Settings;

function expect(cond: unknown, what: string): void {
  if (!cond) throw new Error(what);
}

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return e instanceof SealbellError ? e.code : `not a SealbellError: ${String(e)}`;
  }
  return 'accepted';
}

/** A doorbell's store holding the vector's settings at `epoch` (0: none). */
function holding(epoch: number): SettingsStore {
  const s = new SettingsStore(new MemoryKeyValueStore(), settings().device);
  if (epoch > 0) s.accept(encodeSettingsBundle(signSettings({ ...settings(), epoch }, authority())), authority().publicKey);
  return s;
}

const signedBy = (s: Settings, key = authority()) => {
  const bytes = encodeSettings(s);
  return encodeSettingsBundle({ bytes, signature: signSettingsBytes(bytes, key) });
};

export const cases: Case[] = [
  {
    name: 'the vector: canonical bytes, the same signature and acknowledgement',
    run: () => {
      const signed = signSettings(settings(), authority());
      expect(utf8Decode(signed.bytes) === JSON_TEXT, 'canonical bytes');
      expect(signed.signature === SIGNATURE, 'signature');
      expect(signSettingsAck(signed, signingKeyFromSeed(hexToBytes(DEVICE_SEED))) === ACK, 'acknowledgement');
    },
  },
  {
    name: 'the doorbell takes the vector bundle over a lower epoch',
    run: () => {
      const s = holding(6);
      s.accept(hexToBytes(BUNDLE), authority().publicKey);
      expect(s.current().epoch === 7 && s.current().clipSeconds === 15, 'taken');
    },
  },
  {
    name: 'refusals: altered, another key, another doorbell, replay, out of range, not canonical',
    run: () => {
      const a = authority().publicKey;
      const altered = encodeSettingsBundle({ bytes: encodeSettings({ ...settings(), clipSeconds: 60 }), signature: SIGNATURE });
      const got = [
        code(() => holding(6).accept(altered, a)),
        code(() => holding(6).accept(signedBy(settings(), signingKeyFromSeed(new Uint8Array(32).fill(7))), a)),
        code(() => holding(6).accept(signedBy({ ...settings(), device: '0123456789ABCDEF' }), a)),
        code(() => holding(7).accept(hexToBytes(BUNDLE), a)),
        code(() => holding(6).accept(signedBy({ ...settings(), clipSeconds: 600 }), a)),
        code(() => holding(6).accept(encodeSettingsBundle({ bytes: utf8ToBytes(JSON_TEXT.replace('"epoch":7', '"epoch": 7')), signature: SIGNATURE }), a)),
      ];
      const want = ['SETTINGS_SIGNATURE', 'SETTINGS_SIGNATURE', 'SETTINGS_DEVICE', 'SETTINGS_EPOCH', 'SETTINGS_RANGE', 'SETTINGS_FORMAT'];
      expect(got.join() === want.join(), got.join());
    },
  },
];

runCases(cases);
