/**
 * Builds the phone web app (web/) into its release files, deterministically: the same
 * sources and release key give the same bytes (esbuild output, PNG icons drawn here).
 *
 *   app.js       web/app/main.ts and what it imports (src/, tools/phone's file-free parts), bundled
 *   sw.js        web/sw/sw.ts, an ES module, with the release public key built in
 *   index.html, app.css, manifest.webmanifest   copied from web/
 *   icon-192.png, icon-512.png                  drawn here
 *   release.json the file list with SHA-256 (web/release/format.ts); signing adds release.json.minisig
 *
 *   const files = await buildWebApp({ releasePub });   // Map name → bytes
 *   await writeWebApp('dist/app', { releasePub });
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SealbellError } from '../../src/errors.js';
import { decodePublicKey } from '../../src/minisign.js';
import { encodeGreyPng } from '../label-png.js';
import { encodeRelease, RELEASE_FILE, signRelease, SIGNATURE_FILE } from '../../web/release/format.js';
import type { SigningKey } from '../../src/minisign.js';

export interface WebBuildOptions {
  /** the release public key (minisign text) the service worker takes updates signed by; none: a development build */
  releasePub?: string;
  /** release.json's version (default: package.json's) */
  version?: string;
}

/** The repository root, from dist/tools/web/ or tools/web/. */
export function sourceRoot(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  return here.includes(`${path.sep}dist${path.sep}`) ? path.resolve(here, '..', '..', '..') : path.resolve(here, '..', '..');
}

async function bundle(entry: string, define: Record<string, string>): Promise<Uint8Array> {
  const { build } = await import('esbuild');
  const root = sourceRoot();
  const result = await build({
    entryPoints: [path.join(root, entry)],
    absWorkingDir: root,
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    legalComments: 'none',
    charset: 'utf8',
    define,
    logLevel: 'silent',
  });
  return result.outputFiles[0].contents;
}

/** A plain icon: a bell on dark grey, greyscale PNG. */
export function iconPng(size: number): Uint8Array {
  const pixels = new Uint8Array(size * size).fill(28);
  const c = size / 2;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const dx = (x - c) / size;
      const dy = (y - c) / size;
      // dome and skirt of the bell, its clapper below
      const bell = dy > -0.3 && dy < 0.2 && Math.abs(dx) < 0.12 + (dy + 0.3) * 0.35 && (dy > -0.18 || dx * dx + (dy + 0.18) ** 2 < 0.018);
      const clapper = dx * dx + (dy - 0.26) ** 2 < 0.004;
      if (bell || clapper) pixels[y * size + x] = 235;
    }
  }
  return encodeGreyPng({ width: size, height: size, pixels });
}

export async function buildWebApp(o: WebBuildOptions = {}): Promise<Map<string, Uint8Array>> {
  if (o.releasePub) decodePublicKey(o.releasePub); // RELEASE_KEY early, not in the browser
  const root = sourceRoot();
  const files = new Map<string, Uint8Array>();
  const copy = (name: string) => files.set(name, new Uint8Array(fs.readFileSync(path.join(root, 'web', name))));
  copy('index.html');
  copy('app.css');
  copy('manifest.webmanifest');
  files.set('icon-192.png', iconPng(192));
  files.set('icon-512.png', iconPng(512));
  files.set('app.js', await bundle('web/app/main.ts', {}));
  files.set('sw.js', await bundle('web/sw/sw.ts', { RELEASE_PUB: JSON.stringify(o.releasePub ?? '') }));
  const version = o.version ?? (JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string }).version;
  files.set(RELEASE_FILE, encodeRelease(version, files));
  return files;
}

/** Writes the build to `dir` (made if missing; files of an earlier build are replaced). */
export async function writeWebApp(dir: string, o: WebBuildOptions = {}): Promise<Map<string, Uint8Array>> {
  const files = await buildWebApp(o);
  fs.mkdirSync(dir, { recursive: true });
  fs.rmSync(path.join(dir, SIGNATURE_FILE), { force: true });
  for (const [name, bytes] of files) fs.writeFileSync(path.join(dir, name), bytes);
  return files;
}

/**
 * `sealbell release sign-app --key K DIR`: release.json for the files in DIR (all but the
 * release files themselves), and its minisign signature by the release key.
 */
export function signAppDir(dir: string, key: SigningKey, version?: string): { version: string; files: number } {
  const files = new Map<string, Uint8Array>();
  for (const name of fs.readdirSync(dir).sort()) {
    if (name === RELEASE_FILE || name === SIGNATURE_FILE) continue;
    const p = path.join(dir, name);
    if (fs.statSync(p).isFile()) files.set(name, new Uint8Array(fs.readFileSync(p)));
  }
  if (!files.has('index.html') || !files.has('sw.js')) throw new SealbellError('RELEASE_FORMAT', `${dir} does not hold a built web app (no index.html or sw.js): sealbell web build first`);
  let v = version;
  if (!v) {
    try {
      v = (JSON.parse(fs.readFileSync(path.join(dir, RELEASE_FILE), 'utf8')) as { version: string }).version;
    } catch {
      throw new SealbellError('RELEASE_FORMAT', 'give --version (no release.json to take it from)');
    }
  }
  const bytes = encodeRelease(v, files);
  fs.writeFileSync(path.join(dir, RELEASE_FILE), bytes);
  fs.writeFileSync(path.join(dir, SIGNATURE_FILE), signRelease(bytes, key));
  return { version: v, files: files.size };
}
