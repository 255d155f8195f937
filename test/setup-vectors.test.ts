// The setup protocol's vector (test/vectors/setup-v1.json, printed in
// docs/setup-protocol.md): the real code reproduces it byte for byte, and an
// independent reading of it (noble directly) agrees with the documented formats.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, hexToBytes, utf8ToBytes } from '../src/bytes.js';
import { parseMessage } from '../src/setup/messages.js';
import { parseConfig, parseDeviceInfo, parseDone } from '../src/setup/records.js';
import { parseVerifierRecord } from '../src/setup/verifier-record.js';
import { parseSetupCode, verhoeffValid, verhoeffCheckDigit, generateSetupCode } from '../src/setup/setup-code.js';
import { setupVectors } from '../tools/vectors/setup-vectors.js';
import { provision } from '../tools/provision.js';
import { ROOT, seededRandom, tempDir } from './helpers.js';
import { throwsCode } from './setup-fixtures.js';

const v = JSON.parse(fs.readFileSync(path.join(ROOT, 'test/vectors/setup-v1.json'), 'utf8'));

describe('setup protocol vector', () => {
  it('is reproduced exactly by the real SetupMode and phone steps', () => {
    assert.deepEqual(setupVectors(), v);
  });

  it('reads back independently: message framing, record keys and nonces, record contents', () => {
    const msgs = v.messages.map((m: { hex: string }) => hexToBytes(m.hex));
    assert.deepEqual(v.messages.map((m: { name: string }) => m.name), [
      'PARAMS_REQUEST', 'PARAMS', 'SHARE_P', 'SHARE_V', 'CONFIRM_P', 'RECORD (DEVICE_INFO)', 'RECORD (CONFIG)', 'RECORD (DONE)',
    ]);
    for (const m of msgs) assert.equal(bytesToHex(m.subarray(0, 3)), '534201'); // "SB" v1
    // channel keys: HKDF-SHA256(salt = session id, IKM = K_shared, info)
    const sid = hexToBytes(v.sessionId);
    const k = hexToBytes(v.K_shared);
    assert.equal(bytesToHex(hkdf(sha256, k, sid, utf8ToBytes('sealbell setup v1 phone to device'), 32)), v.keyPhoneToDevice);
    assert.equal(bytesToHex(hkdf(sha256, k, sid, utf8ToBytes('sealbell setup v1 device to phone'), 32)), v.keyDeviceToPhone);
    // records: header = first 16 bytes (AAD); nonce = 8 zero bytes ‖ seq; key by direction
    const open = (msg: Uint8Array, key: string, seq: number) => {
      assert.equal(msg[3], 0x06);
      assert.equal(bytesToHex(msg.subarray(4, 12)), v.sessionId);
      assert.equal(new DataView(msg.buffer, msg.byteOffset).getUint32(12), seq);
      const nonce = new Uint8Array(12);
      nonce[11] = seq;
      return bytesToHex(chacha20poly1305(hexToBytes(key), nonce, msg.subarray(0, 16)).decrypt(msg.subarray(16)));
    };
    assert.equal(open(msgs[5], v.keyDeviceToPhone, 0), v.plaintexts.deviceInfo);
    assert.equal(open(msgs[6], v.keyPhoneToDevice, 0), v.plaintexts.config);
    assert.equal(open(msgs[7], v.keyDeviceToPhone, 1), v.plaintexts.done);
    assert.equal(parseDeviceInfo(hexToBytes(v.plaintexts.deviceInfo)).identity, v.deviceIdentity);
    const config = parseConfig(hexToBytes(v.plaintexts.config));
    assert.equal(config.wifi.password, 'correct horse battery staple');
    assert.equal(bytesToHex(config.relayCa!), v.relayCa);
    assert.equal(parseDone(hexToBytes(v.plaintexts.done)).ack, v.ack);
    for (const m of msgs) parseMessage(m);
    // the record the device stores: no code, no w1
    const rec = hexToBytes(v.verifierRecord);
    assert.equal(bytesToHex(parseVerifierRecord(rec).w0), v.w0);
    assert.ok(!bytesToHex(rec).includes(v.w1));
    assert.ok(!Buffer.from(rec).includes(Buffer.from(v.code)));
  });

  it('is printed in docs/setup-protocol.md', () => {
    const doc = fs.readFileSync(path.join(ROOT, 'docs/setup-protocol.md'), 'utf8').replace(/\s+/g, '');
    for (const key of ['code', 'salt', 'qrPayload', 'w0', 'L', 'sessionId', 'x', 'K_shared', 'keyPhoneToDevice', 'keyDeviceToPhone']) {
      assert.ok(doc.includes(v[key]), `docs/setup-protocol.md lacks ${key} = ${v[key]}`);
    }
    for (const m of v.messages.slice(0, 6)) assert.ok(doc.includes(m.hex), `docs lack ${m.name}`);
  });
});

describe('setup codes and provisioning', () => {
  it('Verhoeff check digit: known values; every single-digit error and adjacent swap is caught', () => {
    assert.equal(verhoeffCheckDigit('236'), 3);
    assert.equal(verhoeffCheckDigit('12345'), 1);
    assert.ok(verhoeffValid('2363'));
    const random = seededRandom('codes');
    for (let n = 0; n < 200; n++) {
      const code = generateSetupCode(random);
      assert.match(code, /^[0-9]{12}$/);
      assert.ok(verhoeffValid(code));
      for (let i = 0; i < 12; i++) {
        for (let dgt = 0; dgt < 10; dgt++) {
          if (String(dgt) === code[i]) continue;
          assert.ok(!verhoeffValid(code.slice(0, i) + dgt + code.slice(i + 1)));
        }
        if (i < 11 && code[i] !== code[i + 1]) assert.ok(!verhoeffValid(code.slice(0, i) + code[i + 1] + code[i] + code.slice(i + 2)));
      }
    }
  });

  it('parses typed codes and QR payloads; refuses anything else with SETUP_CODE', () => {
    assert.equal(parseSetupCode(v.manualCode).code, v.code);
    assert.equal(parseSetupCode(` ${v.code.slice(0, 6)} ${v.code.slice(6)} `).code, v.code);
    const qr = parseSetupCode(v.qrPayload);
    assert.equal(qr.code, v.code);
    assert.equal(bytesToHex(qr.salt!), v.salt);
    for (const bad of ['', 'abc', v.code.slice(1), v.code + '0', 'SB1:' + v.code, v.qrPayload + 'A', v.qrPayload.replace('SB1', 'SB2'), v.qrPayload.slice(0, -1) + '1']) {
      throwsCode(() => parseSetupCode(bad), 'SETUP_CODE');
    }
  });

  it('provision writes the verifier record (never the code) and the label text', async () => {
    const out = tempDir('provision');
    const r = await provision({ out, random: seededRandom('provision') });
    assert.match(r.manualCode, /^\d{4}-\d{4}-\d{4}$/);
    assert.match(r.qrPayload, /^SB1:\d{12}:[A-Z2-7]{26}$/);
    assert.equal(parseSetupCode(r.qrPayload).code, r.code);
    const rec = fs.readFileSync(r.verifierPath);
    assert.equal(rec.length, 4 + 16 + 32 + 65);
    assert.ok(!rec.includes(Buffer.from(r.code)));
    assert.deepEqual(parseVerifierRecord(new Uint8Array(rec)).salt, parseSetupCode(r.qrPayload).salt);
    const label = fs.readFileSync(r.labelPath, 'utf8');
    assert.ok(label.includes(r.manualCode) && label.includes(r.qrPayload));
    assert.deepEqual(fs.readdirSync(out).sort(), ['setup-label.txt', 'setup-qr.png', 'setup-verifier.bin']);
  });
});
