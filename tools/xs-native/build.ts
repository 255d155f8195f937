/**
 * Builds `xsnap-sealbell`: @agoric/xsnap's xsnap-worker (XS 13.3, from the
 * sources that npm package ships) with sealbell's device natives built in —
 * hosts/moddable/native/{xs_aead.c, chacha20poly1305.c, hostbuffer.c, xs_jpeg_dc.c, jpeg_dc.c} — and a
 * view of XS's heap counters (tools/xs-native/natives.c). The Xsnap driver
 * (tools/xs/xsnap.ts) runs it through its `bin` option: same protocol, same meter.
 *
 * So CI runs the device's XS binding and C core under a real XS engine, and
 * the benchmarks read what the device's JavaScript costs with the native code
 * really doing the bulk work outside the meter and outside the XS heap.
 *
 * Objects are cached in build/xs-native/ by a hash of their source and flags;
 * the first build compiles XS (about a minute on two cores).
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import { basename, dirname, join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

const XS_SOURCES = [
  'xsAll', 'xsAPI', 'xsArguments', 'xsArray', 'xsAtomics', 'xsBigInt', 'xsBoolean', 'xsCode', 'xsCommon',
  'xsDataView', 'xsDate', 'xsDebug', 'xsDefaults', 'xsError', 'xsFunction', 'xsGenerator', 'xsGlobal', 'xsJSON',
  'xsLexical', 'xsLockdown', 'xsMapSet', 'xsMarshall', 'xsMath', 'xsMemory', 'xsModule', 'xsNumber', 'xsObject',
  'xsPlatforms', 'xsProfile', 'xsPromise', 'xsProperty', 'xsProxy', 'xsRegExp', 'xsRun', 'xsScope', 'xsScript',
  'xsSnapshot', 'xsSourceMap', 'xsString', 'xsSymbol', 'xsSyntaxical', 'xsTree', 'xsType', 'xsdtoa', 'xsre', 'xsmc',
];

/**
 * Why the worker could not be built (no compiler, no xsnap sources), naming what is missing. The
 * benchmarks report it instead of a figure; the tests let it fail the run (CI installs all of them).
 */
export class NativeWorkerUnavailable extends Error {
  override readonly name = 'NativeWorkerUnavailable';
}

interface Unit {
  source: string;
  flags: string[];
  /** files besides the source whose content the object depends on */
  deps: string[];
}

function xsnapPackage(): string {
  const require = createRequire(import.meta.url);
  try {
    return dirname(require.resolve('@agoric/xsnap/package.json'));
  } catch {
    throw new NativeWorkerUnavailable('@agoric/xsnap is not installed (npm ci installs it)');
  }
}

async function hashOf(parts: (string | Uint8Array)[]): Promise<string> {
  const h = createHash('sha256');
  for (const p of parts) h.update(p).update('\0');
  return h.digest('hex').slice(0, 16);
}

/** Runs `fn` over `items`, `limit` at a time. */
async function pool<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]!);
  }));
}

/** Runs the C compiler; no `cc` on PATH is NativeWorkerUnavailable, a failed compile an Error with its output. */
async function cc(args: string[], what: string): Promise<void> {
  try {
    await run('cc', args);
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: string };
    if (err.code === 'ENOENT') throw new NativeWorkerUnavailable('no C compiler (cc) on PATH (.ci/run installs gcc)');
    throw new Error(`cc ${what} failed:\n${err.stderr ?? err.message}`);
  }
}

let building: Promise<string> | undefined;

/** Path of the built worker (built on first use, then cached). Throws NativeWorkerUnavailable. */
export function buildNativeWorker(root: string): Promise<string> {
  building ??= build(root).finally(() => {
    building = undefined;
  });
  return building;
}

async function build(root: string): Promise<string> {
  const pkg = xsnapPackage();
  const xs = join(pkg, 'moddable', 'xs');
  const tls = join(pkg, 'xsnap-native', 'xsnap', 'sources');
  const modules = join(pkg, 'moddable', 'modules', 'data');
  const native = join(root, 'hosts', 'moddable', 'native');
  const version = JSON.parse(await readFile(join(pkg, 'package.json'), 'utf8')).version as string;
  if (!existsSync(join(xs, 'sources', 'xsAll.c'))) throw new NativeWorkerUnavailable(`no XS sources in ${xs} (the @agoric/xsnap package ships them: reinstall it)`);

  // xsnap-worker.mk's release flags (without its -O3: -O2 builds faster and meters the same)
  const common = [
    '-fno-common', '-DINCLUDE_XSPLATFORM', '-DXSPLATFORM="xsnapPlatform.h"', `-DXSNAP_VERSION="${version}"`,
    '-DXSNAP_TEST_RECORD=0', '-DmxLockdown=1', '-DmxMetering=1', '-DmxDebug=1', '-UmxInstrument', '-DmxNoConsole=1',
    '-DmxBoundsCheck=1', '-DmxParse=1', '-DmxRun=1', '-DmxSloppy=1', '-DmxSnapshot=1',
    '-DmxRegExpUnicodePropertyEscapes=1', '-DmxStringNormalize=1', '-DmxMinusZero=1',
    `-I${join(xs, 'includes')}`, `-I${join(xs, 'platforms')}`, `-I${join(xs, 'sources')}`, `-I${tls}`,
    '-O2', '-w',
  ];
  const headers = [join(xs, 'includes', 'xs.h'), join(xs, 'includes', 'xsmc.h'), join(xs, 'sources', 'xsAll.h'), join(tls, 'xsnapPlatform.h')];
  const units: Unit[] = [
    ...XS_SOURCES.map((n) => ({ source: join(xs, 'sources', `${n}.c`), flags: common, deps: headers })),
    { source: join(modules, 'text', 'decoder', 'textdecoder.c'), flags: common, deps: headers },
    { source: join(modules, 'text', 'encoder', 'textencoder.c'), flags: common, deps: headers },
    { source: join(modules, 'base64', 'modBase64.c'), flags: common, deps: headers },
    { source: join(tls, 'xsnapPlatform.c'), flags: common, deps: headers },
    // the worker's machine is made by natives.c's sealbellCreateMachine
    { source: join(tls, 'xsnap-worker.c'), flags: [...common, '-DfxCreateMachine=sealbellCreateMachine'], deps: headers },
    // sealbell's own code: warnings are errors
    ...['xs_aead.c', 'chacha20poly1305.c', 'hostbuffer.c', 'xs_jpeg_dc.c', 'jpeg_dc.c'].map((f) => ({
      source: join(native, f),
      flags: [...common.filter((f) => f !== '-w'), `-I${native}`, '-Wall', '-Werror'],
      deps: [...headers, join(native, 'chacha20poly1305.h'), join(native, 'jpeg_dc.h')],
    })),
    {
      source: join(root, 'tools', 'xs-native', 'natives.c'),
      flags: [...common.filter((f) => f !== '-w'), '-Wall', '-Werror'],
      deps: headers,
    },
  ];

  const outDir = join(root, 'build', 'xs-native');
  await mkdir(join(outDir, 'obj'), { recursive: true });
  const objects: string[] = [];
  for (const u of units) {
    const contents = await Promise.all([u.source, ...u.deps].map((f) => readFile(f)));
    const key = await hashOf([...u.flags, ...contents]);
    objects.push(join(outDir, 'obj', `${basename(u.source, '.c')}-${key}.o`));
  }
  const bin = join(outDir, `xsnap-sealbell-${await hashOf(objects)}`);
  if (existsSync(bin)) return bin;

  await pool(units.map((u, i) => ({ u, obj: objects[i]! })), Math.max(1, os.availableParallelism()), async ({ u, obj }) => {
    if (existsSync(obj)) return;
    await cc([u.source, ...u.flags, '-c', '-o', `${obj}.tmp`], basename(u.source));
    await rename(`${obj}.tmp`, obj);
  });
  await cc(['-rdynamic', ...objects, '-ldl', '-lm', '-lpthread', '-o', `${bin}.tmp`], 'linking xsnap-sealbell');
  await rename(`${bin}.tmp`, bin);
  return bin;
}

