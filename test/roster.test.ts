// The signed roster (docs/roster-format.md): canonical encoding and its vector,
// strict parsing, minisign interop, and the device's store: only the account
// authority, only for this device, only a higher epoch, stored atomically.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ed25519 } from '@noble/curves/ed25519.js';
import { bytesToHex, hexToBytes, utf8ToBytes } from '../src/bytes.js';
import { SealbellError } from '../src/errors.js';
import { decodePublicKey, encodePublicKey, signingKeyFromSeed } from '../src/minisign.js';
import { generateIdentity, identityToRecipient } from '../src/age/x25519.js';
import {
  MAX_PHONES, MAX_ROSTER_BYTES, encodeAuthKey, encodeRoster, parseRoster, rosterHash, signRoster, successor, validateRoster, verifyRoster, type Roster,
} from '../src/roster/roster.js';
import { encodeRosterBundle, encodeRosterRun, parseRosterBundle } from '../src/roster/bundle.js';
import { ROSTER_KEY, RosterStore, authorityAfter, recipientsOf } from '../src/roster/roster-store.js';
import { rosterVectors } from '../tools/vectors/setup-vectors.js';
import { MemoryStore, ROOT, run, seededRandom, tempDir } from './helpers.js';
import { throwsCode } from './setup-fixtures.js';

const vectors = JSON.parse(fs.readFileSync(path.join(ROOT, 'test/vectors/roster-v1.json'), 'utf8'));
const random = seededRandom('roster-tests');
const authority = signingKeyFromSeed(random(32));
const DEVICE = '00112233445566AA';

function phone(name: string) {
  return { name, recipient: identityToRecipient(generateIdentity(random)), auth: encodeAuthKey(ed25519.getPublicKey(random(32))) };
}
const alice = phone('alice');
const bob = phone('bob');
const history = identityToRecipient(generateIdentity(random));

function roster(epoch: number, phones = [alice, bob], device = DEVICE): Roster {
  return { v: 1, device, epoch, prev: null, phones, history, handover: null };
}
const bundle = (r: Roster, key = authority) => encodeRosterBundle(signRoster(r, key));

describe('roster format', () => {
  it('matches its vector: canonical bytes, signature, bundle, recipients', () => {
    assert.deepEqual(rosterVectors(), vectors, 'tools/vectors/setup-vectors.ts no longer reproduces test/vectors/roster-v1.json');
    const key = decodePublicKey(vectors.authorityPublicKey).publicKey;
    const signed = verifyRoster(utf8ToBytes(vectors.roster), vectors.signature, key);
    assert.equal(bytesToHex(encodeRoster(signed.roster)), bytesToHex(utf8ToBytes(vectors.roster)));
    const b = parseRosterBundle(hexToBytes(vectors.bundle));
    assert.equal(new TextDecoder().decode(b.bytes), vectors.roster);
    assert.equal(b.signature, vectors.signature);
    assert.deepEqual(recipientsOf(signed.roster), vectors.recipients);
    for (const c of vectors.invalid) throwsCode(() => parseRoster(utf8ToBytes(c.text)), c.code);
  });

  it('the vector is printed in docs/roster-format.md', () => {
    const doc = fs.readFileSync(path.join(ROOT, 'docs/roster-format.md'), 'utf8');
    const h = vectors.handover;
    for (const s of [vectors.roster, vectors.authorityPublicKey.trim(), ...vectors.signature.trim().split('\n'), vectors.authoritySeed, vectors.previous, vectors.prev, h.newAuthoritySeed, h.roster, ...h.signature.trim().split('\n'), h.next]) {
      assert.ok(doc.includes(s), `docs/roster-format.md lacks ${s.slice(0, 60)}…`);
    }
  });

  it('minisign verifies the roster with the account authority key', () => {
    const dir = tempDir('roster');
    const s = signRoster(roster(7), authority);
    fs.writeFileSync(path.join(dir, 'roster.json'), s.bytes);
    fs.writeFileSync(path.join(dir, 'roster.json.minisig'), s.signature);
    fs.writeFileSync(path.join(dir, 'authority.pub'), encodePublicKey(authority.publicKey));
    const out = run('minisign', ['-Vm', path.join(dir, 'roster.json'), '-p', path.join(dir, 'authority.pub')]);
    assert.match(out, /Trusted comment: sealbell roster v1 device 00112233445566AA epoch 7/);
  });

  it('refuses every malformed roster with ROSTER_FORMAT, never a partial result', () => {
    const ok = new TextDecoder().decode(encodeRoster(roster(1)));
    const variants: string[] = [
      '', 'null', '[]', '{}', '"x"', ok + ' ', ' ' + ok, ok.replace('"v":1', '"v":2'), ok.replace('"epoch":1', '"epoch":-1'),
      ok.replace('"epoch":1', '"epoch":"1"'), ok.replace('"epoch":1', '"epoch":9007199254740992'), ok.replace('"epoch":1', '"epoch":1e0'),
      ok.replace(alice.recipient, alice.recipient.toUpperCase()), ok.replace(alice.recipient, alice.recipient.slice(0, -1) + 'q'),
      ok.replace(alice.auth, alice.auth.replace('=', '')), ok.replace(alice.auth, 'A'.repeat(43) + '='), ok.replace('"alice"', '""'),
      ok.replace('"alice"', '"a\\u0007b"'), ok.replace('"alice"', '"\\ud800"'), ok.replace('"alice"', JSON.stringify('x'.repeat(65))),
      ok.replace('"bob"', '"alice"'), ok.replace(bob.recipient, alice.recipient), ok.replace(bob.auth, alice.auth),
      ok.replace('"history":"' + history + '"', '"history":""'), ok.replace('"name":"alice",', ''), ok.replace('"name":"alice"', '"name":"alice","x":1'),
      ok.replace('"phones":[', '"phones":{').replace('],"history"', '},"history"'),
      ok.replace('"prev":null,', ''), ok.replace(',"handover":null', ''), ok.replace('"prev":null', '"prev":"' + 'A'.repeat(64) + '"'),
      ok.replace('"prev":null', '"prev":"' + 'a'.repeat(63) + '"'), ok.replace('"prev":null', '"prev":1'),
      ok.replace('"handover":null', '"handover":"' + 'A'.repeat(43) + '="'), ok.replace('"handover":null', '"handover":""'),
    ];
    for (const v of variants) throwsCode(() => parseRoster(utf8ToBytes(v)), 'ROSTER_FORMAT');
    throwsCode(() => parseRoster(Uint8Array.of(0xff, 0xfe)), 'ROSTER_FORMAT');
    throwsCode(() => parseRoster(new Uint8Array(MAX_ROSTER_BYTES + 1).fill(0x20)), 'ROSTER_FORMAT');
    throwsCode(() => encodeRoster(roster(1, Array.from({ length: MAX_PHONES + 1 }, (_, i) => phone(`p${i}`)))), 'ROSTER_FORMAT');
    // a valid one with null history and a 64-character emoji name parses and round-trips
    const r = { ...roster(2, [{ ...alice, name: '📱'.repeat(64) }]), history: null };
    assert.deepEqual(parseRoster(encodeRoster(r)), r);
  });

  it('refuses a roster not signed by the account authority, altered, or whose trusted comment was swapped', () => {
    const s = signRoster(roster(3), authority);
    const other = signingKeyFromSeed(random(32));
    throwsCode(() => verifyRoster(s.bytes, signRoster(roster(3), other).signature, authority.publicKey), 'ROSTER_SIGNATURE');
    const altered = utf8ToBytes(new TextDecoder().decode(s.bytes).replace('"epoch":3', '"epoch":4'));
    throwsCode(() => verifyRoster(altered, s.signature, authority.publicKey), 'ROSTER_SIGNATURE');
    // the epoch-4 signature on the epoch-3 roster: the roster bytes differ, so the signature fails
    throwsCode(() => verifyRoster(s.bytes, signRoster(roster(4), authority).signature, authority.publicKey), 'ROSTER_SIGNATURE');
    throwsCode(() => verifyRoster(s.bytes, 'not a signature', authority.publicKey), 'ROSTER_SIGNATURE');
    throwsCode(() => parseRosterBundle(bundle(roster(1)).slice(0, -1)), 'ROSTER_FORMAT');
    throwsCode(() => parseRosterBundle(new Uint8Array([...bundle(roster(1)), 0])), 'ROSTER_FORMAT');
  });
});

/** `bytes` with the text `from` replaced by `to` (same length). */
function tamper(bytes: Uint8Array, from: string, to: string): Uint8Array {
  const at = Buffer.from(bytes).indexOf(Buffer.from(from));
  assert.ok(at >= 0 && from.length === to.length);
  const out = bytes.slice();
  out.set(utf8ToBytes(to), at);
  return out;
}

describe('the device\'s roster store', () => {
  function stored(store: MemoryStore): string | undefined {
    const v = store.get(ROSTER_KEY);
    return v && bytesToHex(v);
  }

  it('accepts only the successor of exactly what it holds, signed by its authority, for this device; keeps the old one otherwise', () => {
    const store = new MemoryStore();
    const rosters = new RosterStore(store, DEVICE);
    const r1 = roster(1);
    throwsCode(() => rosters.accept(bundle(r1)), 'ROSTER_AUTHORITY'); // no authority before setup
    rosters.accept(bundle(r1), authority.publicKey);
    const r2 = successor(r1, { phones: [alice] });
    rosters.accept(bundle(r2));
    const kept = stored(store);
    const other = signingKeyFromSeed(random(32));
    const r3 = successor(r2, { phones: [alice, bob] });
    const refusals: [Uint8Array, string, Uint8Array?][] = [
      [bundle(successor(r1, { phones: [bob] })), 'ROSTER_FORK'], // same epoch, different content: a fork
      [bundle(r2), 'ROSTER_EPOCH'], // the same roster again
      [bundle(r1), 'ROSTER_EPOCH'], // older (a replay of an earlier update)
      [bundle(successor(successor(r1, { phones: [bob] }), {})), 'ROSTER_FORK'], // epoch 3, but after another epoch 2
      [bundle({ ...r3, prev: null }), 'ROSTER_FORK'], // names no predecessor
      [bundle(successor(r3, {})), 'ROSTER_GAP'], // skips epoch 3
      [bundle(r3, other), 'ROSTER_SIGNATURE'], // signed by someone else
      [bundle(r3, other), 'ROSTER_AUTHORITY', other.publicKey], // and claiming a new authority
      [bundle({ ...r3, device: '0000000000000000' }), 'ROSTER_DEVICE'],
      [bundle(r3).slice(0, 50), 'ROSTER_FORMAT'],
      [tamper(bundle(r3), '"epoch":3', '"epoch":4'), 'ROSTER_SIGNATURE'], // edited after signing
    ];
    for (const [b, code, key] of refusals) {
      throwsCode(() => rosters.accept(b, key), code);
      throwsCode(() => rosters.acceptRun(b), key ? 'ROSTER_SIGNATURE' : code);
      assert.equal(stored(store), kept, `${code}: the stored roster changed`);
    }
    assert.equal(rosters.load()!.roster.epoch, 2);
    assert.deepEqual(rosters.load()!.roster.phones, [alice]);
    rosters.accept(bundle(r3));
    assert.equal(rosters.load()!.roster.epoch, 3);
  });

  it('a run of successors is taken together, all or nothing; only the last is stored', () => {
    const store = new MemoryStore();
    const rosters = new RosterStore(store, DEVICE);
    const r1 = roster(1);
    rosters.accept(bundle(r1), authority.publicKey);
    const r2 = successor(r1, { phones: [alice] });
    const r3 = successor(r2, { phones: [alice, bob] });
    const r4 = successor(r3, { phones: [bob] });
    const kept = stored(store);
    // a bad roster anywhere in the run: nothing is taken
    throwsCode(() => rosters.acceptRun(encodeRosterRun([signRoster(r2, authority), signRoster(r4, authority)])), 'ROSTER_GAP');
    throwsCode(() => rosters.acceptRun(encodeRosterRun([signRoster(r2, authority), signRoster(r3, signingKeyFromSeed(random(32)))])), 'ROSTER_SIGNATURE');
    throwsCode(() => rosters.acceptRun(encodeRosterRun([r2, r3, r4, successor(r4, {}), successor(successor(r4, {}), {})].map((r) => signRoster(r, authority)))), 'ROSTER_FORMAT');
    assert.equal(stored(store), kept);
    const taken = rosters.acceptRun(encodeRosterRun([r2, r3, r4].map((r) => signRoster(r, authority))));
    assert.deepEqual(taken.map((t) => t.roster.epoch), [2, 3, 4]);
    assert.deepEqual(rosters.load()!.roster, validateRoster(r4));
  });

  it('authority handover: the doorbell follows a roster signed by the old authority naming the new one; the old one then signs nothing it takes', () => {
    const v = vectors.handover;
    const old = decodePublicKey(vectors.authorityPublicKey).publicKey;
    const next = decodePublicKey(v.newAuthorityPublicKey).publicKey;
    const rosters = new RosterStore(new MemoryStore(), '0123456789ABCDEF');
    const b = (text: string, sig: string) => encodeRosterBundle({ bytes: utf8ToBytes(text), signature: sig });
    rosters.accept(b(vectors.roster, vectors.signature), old);
    assert.equal(rosterHash(utf8ToBytes(vectors.previous)), vectors.prev);
    assert.equal(parseRoster(utf8ToBytes(vectors.roster)).prev, vectors.prev);
    // the roster after the handover, signed by the old authority: refused before the handover is taken
    const oldKey = signingKeyFromSeed(hexToBytes(vectors.authoritySeed));
    const nextKey = signingKeyFromSeed(hexToBytes(v.newAuthoritySeed));
    throwsCode(() => rosters.accept(b(v.next, v.nextSignature)), 'ROSTER_SIGNATURE');
    rosters.accept(b(v.roster, v.signature));
    assert.equal(bytesToHex(authorityAfter(rosters.load()!)), bytesToHex(next));
    assert.equal(bytesToHex(rosters.load()!.authority), bytesToHex(old), 'stored with the key that signed it');
    // the old authority (which the removed member may hold) signs nothing the doorbell takes now
    const stale = successor(parseRoster(utf8ToBytes(v.roster)), {});
    throwsCode(() => rosters.accept(encodeRosterBundle(signRoster(stale, oldKey))), 'ROSTER_SIGNATURE');
    rosters.accept(b(v.next, v.nextSignature));
    assert.equal(rosters.load()!.roster.epoch, 5);
    rosters.accept(encodeRosterBundle(signRoster(successor(rosters.load()!.roster, {}), nextKey)));
    assert.equal(rosters.load()!.roster.epoch, 6);
  });

  it('writes one key per update (atomic with the host\'s store); a crash during the write keeps the old roster', () => {
    const store = new MemoryStore();
    const rosters = new RosterStore(store, DEVICE);
    rosters.accept(bundle(roster(1)), authority.publicKey);
    const before = stored(store);
    let sets = 0;
    const crashing = new MemoryStore();
    crashing.map.set(ROSTER_KEY, store.get(ROSTER_KEY)!);
    crashing.set = () => {
      sets++;
      throw new Error('power lost');
    };
    assert.throws(() => new RosterStore(crashing, DEVICE).accept(bundle(successor(roster(1), {}))), /power lost/);
    assert.equal(sets, 1);
    assert.equal(bytesToHex(crashing.get(ROSTER_KEY)!), before);
    assert.equal(new RosterStore(crashing, DEVICE).load()!.roster.epoch, 1);
  });

  it('a corrupt stored record is reported, not half-used', () => {
    const store = new MemoryStore();
    new RosterStore(store, DEVICE).accept(bundle(roster(1)), authority.publicKey);
    store.set(ROSTER_KEY, store.get(ROSTER_KEY)!.slice(0, 60));
    throwsCode(() => new RosterStore(store, DEVICE).load(), 'ROSTER_STORE');
  });

  it('recipientsOf: every phone, then the history recipient when there is one', () => {
    // (and the roster's hash, which each clip's manifest names: docs/clip-format.md)
    assert.deepEqual(recipientsOf(roster(5)), { epoch: 5, recipients: [alice.recipient, bob.recipient, history], roster: rosterHash(encodeRoster(roster(5))) });
    const six = { ...roster(6), history: null };
    assert.deepEqual(recipientsOf(six), { epoch: 6, recipients: [alice.recipient, bob.recipient], roster: rosterHash(encodeRoster(six)) });
  });

  it('errors are SealbellErrors with stable codes', () => {
    throwsCode(() => parseRoster(utf8ToBytes('{')), 'ROSTER_FORMAT');
    throwsCode(() => parseRoster(utf8ToBytes('')), 'ROSTER_FORMAT');
  });
});
