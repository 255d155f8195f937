// The Moddable build only holds the modules manifest.json names: a module the firmware
// imports but the manifest leaves out builds fine and then aborts the device at boot
// ("XS abort: unhandled exception"). CI has no SDK, so this test follows the firmware's
// imports from hosts/moddable/main.ts (esbuild, SDK modules left out) for each platform
// and checks that manifest.json, with that platform's part, covers every file reached.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { build, type Plugin } from 'esbuild';
import { ROOT } from './helpers.js';

interface ModuleTable {
  [name: string]: string | string[];
}

interface Manifest {
  modules: ModuleTable;
  platforms: Record<string, { modules?: ModuleTable }>;
}

const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'manifest.json'), 'utf8')) as Manifest;

/** Files (relative to the root, no extension) and folders (for `dir/*`) a module table puts in the build. */
function covered(tables: ModuleTable[]): { files: Set<string>; dirs: Set<string> } {
  const files = new Set<string>();
  const dirs = new Set<string>();
  for (const table of tables) {
    for (const value of Object.values(table).flat()) {
      if (!value.startsWith('./')) continue; // the SDK's own modules
      const rel = value.slice(2);
      if (rel.endsWith('/*')) dirs.add(rel.slice(0, -2));
      else files.add(rel.replace(/\.(js|ts)$/, ''));
    }
  }
  return { files, dirs };
}

/** The repository files the firmware reaches from main.ts; `platform` picks the platform module as the manifest does. */
async function reached(platformFile: string): Promise<string[]> {
  const natives = new Set<string>();
  const pickPlatform: Plugin = {
    name: 'platform',
    setup(b) {
      b.onResolve({ filter: /^\.\/platform\.js$/ }, () => ({ path: path.join(ROOT, 'hosts/moddable', platformFile) }));
      // everything that is not ours or an npm package of ours is the SDK's
      b.onResolve({ filter: /^[^./@]|^@moddable/ }, (a) => ({ path: a.path, external: true }));
      // the XS bindings of native code use XS syntax (`function f() @ "xs_f"`): checked by name below
      b.onResolve({ filter: /\/native\/[^/]+\.js$/ }, (a) => {
        natives.add(path.relative(ROOT, path.resolve(a.resolveDir, a.path)).replace(/\.js$/, ''));
        return { path: a.path, external: true };
      });
    },
  };
  const r = await build({
    entryPoints: [path.join(ROOT, 'hosts/moddable/main.ts')],
    bundle: true,
    write: false,
    metafile: true,
    format: 'esm',
    platform: 'neutral',
    logLevel: 'silent',
    plugins: [pickPlatform],
  });
  const inputs = Object.keys(r.metafile.inputs).map((f) => path.relative(ROOT, path.resolve(process.cwd(), f)).replace(/\.(js|ts)$/, ''));
  return [...inputs, ...natives];
}

describe('manifest.json holds every module the firmware imports', function () {
  this.timeout(60_000);
  for (const [platform, platformFile] of [
    ['esp32/*', 'platform.ts'],
    ['lin', 'sim-platform.ts'],
    ['esp32/qemu_esp32s3', 'qemu-platform.ts'],
  ] as const) {
    it(`${platform}: each file reached from hosts/moddable/main.ts is in the build`, async () => {
      const { files, dirs } = covered([manifest.modules, manifest.platforms[platform].modules ?? {}]);
      const inputs = await reached(platformFile);
      assert.ok(inputs.includes('src/app/app'), 'the walk reaches the app');
      const missing = inputs.filter((f) => !files.has(f) && !dirs.has(path.dirname(f)));
      assert.deepEqual(missing, [], `add these to manifest.json (a "dir/*" entry or the module): ${missing.join(', ')}`);
    });
  }

  it('every module the manifest names by path exists', () => {
    for (const table of [manifest.modules, ...Object.values(manifest.platforms).map((p) => p.modules ?? {})]) {
      for (const value of Object.values(table).flat()) {
        if (!value.startsWith('./') || value.endsWith('/*')) continue;
        const base = path.join(ROOT, value);
        assert.ok(['.ts', '.js', ''].some((ext) => fs.existsSync(base + ext)), `manifest.json names ${value}, which does not exist`);
      }
    }
  });
});
