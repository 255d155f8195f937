/**
 * `sealbell release`: the project's side of firmware updates (docs/update-format.md).
 *   keygen  a release key (minisign format; the public half is built into the firmware)
 *   sign    a release manifest for an image, signed with the release key (`minisign -V` checks it)
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '../../src/bytes.js';
import { keyIdHex } from '../../src/minisign.js';
import { signRelease, type ReleaseManifest, type Signed } from '../../src/update/release.js';
import { UsageError } from '../cli-args.js';
import { readSecretKey, releaseKeygen } from './keys.js';
import { signAppDir, writeWebApp } from '../web/build.js';

export const RELEASE_USAGE = `
sealbell release <command>
  keygen   make the release key: OUT.key (unencrypted minisign secret key, 0600) and OUT.pub
             [--out OUT, default release]; build the firmware with OUT.pub
  sign     sign a firmware image: writes its release manifest and the manifest's minisign signature
             IMAGE --key release.key --board BOARD --version VERSION --security N
             [--out FILE, default IMAGE.release.json; the signature goes to FILE.minisig]
             Check it with: minisign -Vm FILE -p release.pub
  build-app  build the phone web app into DIR (deterministic), its service worker taking
             updates signed by the release key   --out DIR [--pub release.pub] [--version V]
  sign-app   sign a built web app: DIR/release.json (every file's SHA-256) and
             DIR/release.json.minisig   DIR --key release.key [--version V]
             Check it with: minisign -Vm DIR/release.json -p release.pub; then sha256sum
`;

export interface ReleaseSignArgs {
  image: string;
  key: string;
  board: string;
  version: string;
  security: number;
  out?: string;
}

/** Signs `image`'s release manifest; returns it and the files written. */
export function releaseSign(a: ReleaseSignArgs): Signed<ReleaseManifest> & { manifestFile: string; signatureFile: string; keyId: string } {
  const key = readSecretKey(a.key);
  const img = fs.readFileSync(a.image);
  const signed = signRelease({ v: 1, board: a.board, version: a.version, security: a.security, size: img.length, sha256: bytesToHex(sha256(img)) }, key);
  const manifestFile = a.out ?? `${a.image}.release.json`;
  fs.writeFileSync(manifestFile, signed.bytes);
  fs.writeFileSync(`${manifestFile}.minisig`, signed.signature);
  return { ...signed, manifestFile, signatureFile: `${manifestFile}.minisig`, keyId: keyIdHex(key.keyId) };
}

function securityNumber(s: string | undefined): number {
  if (s === undefined || !/^\d{1,10}$/.test(s) || Number(s) > 0xffffffff) throw new UsageError('--security must be a whole number 0..4294967295');
  return Number(s);
}

export async function releaseCommand(argv: string[]): Promise<void> {
  const [sub, ...args] = argv;
  switch (sub) {
    case 'keygen': {
      const { values } = parseArgs({ args, options: { out: { type: 'string', default: 'release' } } });
      const r = releaseKeygen(values.out!);
      console.log(`release key ${r.keyId}: secret ${r.key} (keep it offline), public ${r.pub} (build the firmware with it)`);
      return;
    }
    case 'sign': {
      const { values, positionals } = parseArgs({
        args,
        allowPositionals: true,
        options: { key: { type: 'string' }, board: { type: 'string' }, version: { type: 'string' }, security: { type: 'string' }, out: { type: 'string' } },
      });
      if (positionals.length !== 1) throw new UsageError('release sign needs one image file');
      if (!values.key || !values.board || !values.version) throw new UsageError('release sign needs --key, --board, --version and --security');
      const r = releaseSign({ image: positionals[0], key: values.key, board: values.board, version: values.version, security: securityNumber(values.security), out: values.out });
      const m = r.value;
      console.log(`release ${m.version} for ${m.board}, security ${m.security}, ${m.size} bytes, sha256 ${m.sha256}`);
      console.log(`manifest: ${r.manifestFile}; signature (release key ${r.keyId}): ${path.basename(r.signatureFile)}`);
      return;
    }
    case 'build-app': {
      const { values } = parseArgs({ args, options: { out: { type: 'string' }, pub: { type: 'string' }, version: { type: 'string' } } });
      if (!values.out) throw new UsageError('release build-app needs --out DIR');
      const releasePub = values.pub ? fs.readFileSync(values.pub, 'utf8') : undefined;
      const files = await writeWebApp(values.out, { releasePub, version: values.version });
      console.log(`web app: ${files.size} files in ${values.out}${releasePub ? '' : ' (development build: no release key built in)'}`);
      return;
    }
    case 'sign-app': {
      const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { key: { type: 'string' }, version: { type: 'string' } } });
      if (positionals.length !== 1 || !values.key) throw new UsageError('release sign-app needs DIR and --key release.key');
      const key = readSecretKey(values.key);
      const r = signAppDir(positionals[0], key, values.version);
      console.log(`web app release ${r.version}: ${r.files} files listed in ${path.join(positionals[0], 'release.json')}, signed by release key ${keyIdHex(key.keyId)}`);
      return;
    }
    case undefined:
    case 'help':
    case '--help':
      process.stdout.write(RELEASE_USAGE.trimStart());
      return;
    default:
      throw new UsageError(`unknown release command "${sub}"`);
  }
}
