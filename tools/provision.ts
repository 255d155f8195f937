/**
 * `sealbell provision`: the factory step for one doorbell. Makes its setup code
 * and the SPAKE2+ verifier record the doorbell stores; the code itself goes only
 * to the label (and the owner), never to the device.
 *
 *   <out>/setup-verifier.bin   flash into the device's store under "setup.verifier"
 *                              ("SBV1" ‖ salt ‖ w0 ‖ L, src/setup/verifier-record.ts)
 *   <out>/setup-label.txt      the code for the label printer: manual digits and QR payload
 *   <out>/setup-qr.png         the label to print: title, QR code (error correction M), digits
 *
 * `qrTerminal` renders the same QR code as text for a terminal.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Random } from '../src/host.js';
import { systemRandom } from '../src/crypto/noble.js';
import { deriveScalarsAsync, registration } from '../src/setup/spake2plus.js';
import { nodeScrypt } from './scrypt-async.js';
import { ID_PROVER, ID_VERIFIER, SALT_LENGTH } from '../src/setup/protocol.js';
import { codePassword, formatManualCode, generateSetupCode, qrPayload } from '../src/setup/setup-code.js';
import { encodeVerifierRecord } from '../src/setup/verifier-record.js';
import { writeFileAtomic } from '../hosts/node/kv-store.js';
import QRCode from 'qrcode';
import { labelPng } from './label-png.js';

export interface ProvisionOptions {
  out: string;
  random?: Random;
}

export interface ProvisionResult {
  /** the 12 digits (the SPAKE2+ password) */
  code: string;
  /** as printed: 1234-5678-9012 */
  manualCode: string;
  /** SB1:<digits>:<salt>, what the QR code encodes */
  qrPayload: string;
  /** label text for a terminal or label printer */
  labelText: string;
  /** the record the device stores */
  verifierRecord: Uint8Array;
  verifierPath: string;
  labelPath: string;
  qrPath: string;
  /** the QR code drawn with block characters, for a terminal */
  qrTerminal: string;
}

export function labelText(manualCode: string, payload: string): string {
  const width = Math.max(payload.length + 6, 24) + 4;
  const line = (s: string) => `| ${s.padEnd(width - 4)} |`;
  const rule = `+${'-'.repeat(width - 2)}+`;
  return [rule, line('sealbell doorbell setup'), line(''), line(`code: ${manualCode}`), line(`QR:   ${payload}`), rule, ''].join('\n');
}

export async function provision(o: ProvisionOptions): Promise<ProvisionResult> {
  const random = o.random ?? systemRandom;
  const code = generateSetupCode(random);
  const salt = random(SALT_LENGTH);
  const { w0, w1 } = await deriveScalarsAsync(codePassword(code), salt, { idProver: ID_PROVER, idVerifier: ID_VERIFIER }, nodeScrypt);
  const record = registration(w0, w1);
  w1.fill(0);
  const verifierRecord = encodeVerifierRecord({ salt, w0: record.w0, L: record.L });
  const manualCode = formatManualCode(code);
  const payload = qrPayload(code, salt);
  const text = labelText(manualCode, payload);
  fs.mkdirSync(o.out, { recursive: true });
  const verifierPath = path.join(o.out, 'setup-verifier.bin');
  const labelPath = path.join(o.out, 'setup-label.txt');
  writeFileAtomic(verifierPath, verifierRecord);
  writeFileAtomic(labelPath, text);
  const qrPath = path.join(o.out, 'setup-qr.png');
  const qr = { errorCorrectionLevel: 'M' as const, margin: 4 };
  writeFileAtomic(qrPath, labelPng(payload, manualCode));
  const qrTerminal = await QRCode.toString(payload, { ...qr, type: 'utf8' });
  return { code, manualCode, qrPayload: payload, labelText: text, verifierRecord, verifierPath, labelPath, qrPath, qrTerminal };
}
