/**
 * hosts/moddable's key-value store over `preference`: NVS key mapping (≤ 15
 * characters) and the two-slot scheme that keeps the old value when a write is
 * cut short (the SDK's ESP32 Preference.set erases before it writes).
 */
import assert from 'node:assert/strict';
import { NVS_KEY_MAX, nvsName, slotKey } from '../hosts/moddable/nvs-keys.js';
import { PreferenceStore, decodeSlot, encodeSlot, type PreferenceLike } from '../hosts/moddable/kv-store.js';
import { crc32 } from '../src/crc32.js';

type Value = string | boolean | number | ArrayBuffer;

/** Preference as on ESP32: per-domain maps, NVS key and value limits, and erase-then-write on set. */
class FakePreference implements PreferenceLike {
  readonly domains = new Map<string, Map<string, Value>>();
  writes = 0;
  /** when set, the set() with this write number "loses power" after the erase */
  crashAtWrite: number | undefined;

  private domain(d: string): Map<string, Value> {
    let m = this.domains.get(d);
    if (!m) this.domains.set(d, (m = new Map()));
    return m;
  }

  get(d: string, key: string): Value | undefined {
    const v = this.domain(d).get(key);
    return v instanceof ArrayBuffer ? v.slice(0) : v;
  }

  set(d: string, key: string, value: ArrayBuffer): void {
    assert.ok(key.length <= NVS_KEY_MAX, `NVS key "${key}" is longer than ${NVS_KEY_MAX}`);
    assert.ok(d.length <= NVS_KEY_MAX, `NVS namespace "${d}" is too long`);
    assert.ok(value.byteLength <= 4000, 'NVS value over 4000 bytes');
    const m = this.domain(d);
    m.delete(key); // ERASE_KEY
    if (++this.writes === this.crashAtWrite) throw new Error('power lost');
    m.set(key, value.slice(0));
  }

  delete(d: string, key: string): void {
    this.domain(d).delete(key);
  }

  keys(d: string): string[] {
    return [...this.domain(d).keys()];
  }
}

const bytes = (...v: number[]) => new Uint8Array(v);

describe('Moddable key-value store: NVS key mapping', () => {
  it('keeps short safe keys as they are', () => {
    for (const k of ['a', 'wifi.ssid', 'wifi.psk', 'roster', 'clock.lastsync', 'A-b_c.9']) {
      if (k.length <= 13) assert.equal(nvsName(k), k);
    }
    assert.equal(nvsName('wifi.ssid'), 'wifi.ssid');
  });

  it('maps long or unusual keys to 13 characters with a hash, never colliding with plain names', () => {
    const long = ['identity.ed25519', 'clock.lastsync', 'roster.signed.v1', 'a/b', 'ключ', 'x'.repeat(200), 'setup verifier'];
    const names = long.map(nvsName);
    for (const [i, n] of names.entries()) {
      assert.ok(n.length <= 13, `${long[i]} → ${n}`);
      assert.match(n, /^[A-Za-z0-9._-]{1,6}~[a-z2-7]{6}$/);
      assert.equal(nvsName(long[i]), n, 'deterministic');
    }
    assert.equal(new Set(names).size, names.length);
    assert.equal(nvsName('identity.ed25519'), 'identi~mi2myc'); // pinned: changing it loses every device's identity
  });

  it('keeps distinct keys distinct over many similar keys', () => {
    const seen = new Map<string, string>();
    for (let i = 0; i < 20_000; i++) {
      const k = `identity.key.${i}`;
      const n = nvsName(k);
      assert.equal(seen.get(n), undefined, `${k} and ${seen.get(n)} share ${n}`);
      seen.set(n, k);
    }
  });

  it('slot keys fit NVS (15 characters)', () => {
    assert.equal(slotKey(nvsName('identity.ed25519'), 1).length, 15);
    assert.equal(slotKey('wifi.ssid', 0), 'wifi.ssid#0');
  });

  it('rejects the empty key', () => {
    assert.throws(() => nvsName(''), RangeError);
  });
});

describe('Moddable key-value store: slots', () => {
  it('CRC-32 is the standard one', () => {
    assert.equal(crc32(new TextEncoder().encode('123456789')), 0xcbf43926);
  });

  it('a slot record round-trips and any flipped bit makes it invalid', () => {
    const rec = encodeSlot(7, bytes(1, 2, 3));
    assert.deepEqual(decodeSlot(rec.slice().buffer), { generation: 7, value: bytes(1, 2, 3) });
    for (let i = 0; i < rec.length * 8; i++) {
      const bad = rec.slice();
      bad[i >> 3] ^= 1 << (i & 7);
      assert.equal(decodeSlot(bad.buffer), undefined, `bit ${i}`);
    }
    assert.equal(decodeSlot(rec.slice(0, 8).buffer), undefined);
    assert.equal(decodeSlot('text'), undefined);
    assert.equal(decodeSlot(undefined), undefined);
  });

  it('get / set / delete', () => {
    const prefs = new FakePreference();
    const store = new PreferenceStore(prefs);
    assert.equal(store.get('identity.ed25519'), undefined);
    store.set('identity.ed25519', bytes(1, 2, 3));
    assert.deepEqual(store.get('identity.ed25519'), bytes(1, 2, 3));
    store.set('identity.ed25519', bytes(4));
    assert.deepEqual(store.get('identity.ed25519'), bytes(4));
    store.set('identity.ed25519', new Uint8Array(0));
    assert.deepEqual(store.get('identity.ed25519'), new Uint8Array(0));
    store.delete('identity.ed25519');
    assert.equal(store.get('identity.ed25519'), undefined);
    assert.deepEqual(prefs.keys('sealbell'), []);
    store.delete('never.set');
  });

  it('alternates slots, so the current value is never erased by a write', () => {
    const prefs = new FakePreference();
    const store = new PreferenceStore(prefs);
    for (let i = 0; i < 6; i++) {
      store.set('roster', bytes(i));
      assert.equal(prefs.keys('sealbell').length, i === 0 ? 1 : 2);
    }
    assert.deepEqual(store.get('roster'), bytes(5));
  });

  it('a crash during set keeps the old value; the next set still works', () => {
    for (let crashAt = 2; crashAt <= 5; crashAt++) {
      const prefs = new FakePreference();
      const store = new PreferenceStore(prefs);
      store.set('k', bytes(1)); // write 1
      for (let w = 2; w < crashAt; w++) store.set('k', bytes(w));
      prefs.crashAtWrite = crashAt;
      assert.throws(() => store.set('k', bytes(99)), /power lost/);
      assert.deepEqual(store.get('k'), bytes(crashAt - 1), `crash at write ${crashAt}`);
      prefs.crashAtWrite = undefined;
      store.set('k', bytes(100));
      assert.deepEqual(store.get('k'), bytes(100));
    }
  });

  it('a torn slot (bad CRC) is ignored in favour of the other', () => {
    const prefs = new FakePreference();
    const store = new PreferenceStore(prefs);
    store.set('k', bytes(1));
    store.set('k', bytes(2)); // slot 1, generation 2
    const name = nvsName('k');
    const torn = new Uint8Array(prefs.get('sealbell', slotKey(name, 1)) as ArrayBuffer);
    torn[torn.length - 1] ^= 0xff;
    prefs.domains.get('sealbell')!.set(slotKey(name, 1), torn.buffer);
    assert.deepEqual(store.get('k'), bytes(1));
    store.set('k', bytes(3)); // must overwrite the torn slot, not the good one
    assert.deepEqual(store.get('k'), bytes(3));
    store.set('k', bytes(4));
    assert.deepEqual(store.get('k'), bytes(4));
  });

  it('delete removes the older slot first, so a crash between keeps the current value', () => {
    const prefs = new FakePreference();
    const store = new PreferenceStore(prefs);
    store.set('k', bytes(1));
    store.set('k', bytes(2));
    const order: string[] = [];
    const del = prefs.delete.bind(prefs);
    prefs.delete = (d, key) => {
      order.push(key);
      if (order.length === 1) {
        del(d, key);
        throw new Error('power lost');
      }
    };
    assert.throws(() => store.delete('k'), /power lost/);
    assert.deepEqual(store.get('k'), bytes(2));
  });

  it('refuses values over the limit and bad domains', () => {
    const store = new PreferenceStore(new FakePreference());
    store.set('big', new Uint8Array(48 * 1024));
    assert.throws(() => store.set('big', new Uint8Array(48 * 1024 + 1)), /at most 49152/);
    assert.throws(() => new PreferenceStore(new FakePreference(), { domain: 'a-namespace-too-long' }), RangeError);
  });

  it('a value larger than one NVS entry (a post-quantum roster) goes in parts, and round-trips', () => {
    const prefs = new FakePreference();
    const store = new PreferenceStore(prefs);
    const roster = new Uint8Array(4445).map((_, i) => (i * 7) & 0xff);
    store.set('roster.held', roster);
    assert.deepEqual(store.get('roster.held'), roster);
    assert.ok(prefs.keys('sealbell').length >= 3, 'a record and at least two parts');
    const bigger = new Uint8Array(9000).fill(5);
    store.set('roster.held', bigger); // the other slot, with its own parts
    assert.deepEqual(store.get('roster.held'), bigger);
    store.set('roster.held', bytes(1, 2, 3)); // back to one entry: the replaced slot's parts go
    assert.deepEqual(store.get('roster.held'), bytes(1, 2, 3));
    store.delete('roster.held');
    assert.equal(store.get('roster.held'), undefined);
    assert.deepEqual(prefs.keys('sealbell'), [], 'nothing left behind');
  });

  it('a crash at any write of a value in parts keeps the old value; a damaged part makes the slot invalid', () => {
    const old = new Uint8Array(5000).fill(1);
    const next = new Uint8Array(8500).fill(2);
    for (let crashAt = 1; crashAt <= 4; crashAt++) {
      const prefs = new FakePreference();
      const store = new PreferenceStore(prefs);
      store.set('k', old);
      prefs.writes = 0;
      prefs.crashAtWrite = crashAt; // parts are writes 1..3, the record write 4
      assert.throws(() => store.set('k', next), /power lost/);
      assert.deepEqual(store.get('k'), old, `crash at write ${crashAt}`);
      prefs.crashAtWrite = undefined;
      store.set('k', next);
      assert.deepEqual(store.get('k'), next);
    }
    const prefs = new FakePreference();
    const store = new PreferenceStore(prefs);
    store.set('k', old);
    store.set('k', next);
    const partKey = prefs.keys('sealbell').find((k) => !k.startsWith(`${nvsName('k')}#`) && new Uint8Array(prefs.get('sealbell', k) as ArrayBuffer)[0] === 2)!;
    const damaged = new Uint8Array(prefs.get('sealbell', partKey) as ArrayBuffer);
    damaged[10] ^= 1;
    prefs.domains.get('sealbell')!.set(partKey, damaged.buffer);
    assert.deepEqual(store.get('k'), old, 'the newer slot no longer checks out: the older value');
  });

  it('keeps domains apart', () => {
    const prefs = new FakePreference();
    const a = new PreferenceStore(prefs, { domain: 'a' });
    const b = new PreferenceStore(prefs, { domain: 'b' });
    a.set('k', bytes(1));
    assert.equal(b.get('k'), undefined);
  });
});
