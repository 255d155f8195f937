/**
 * Bundles a TypeScript entry (and everything it imports: `src/`, noble, …) into one
 * classic script that xsnap can evaluate with `e` (global eval): an esbuild IIFE,
 * strict mode, platform neutral, ES2020 syntax.
 *
 * - `class-static-field` is lowered: XS 13.3 (xsnap 0.15) throws `ReferenceError … not
 *   initialized yet` when a static field initializer does `new C()` of a class with
 *   instance fields (noble's Edwards `Point` does that). XS 17.9 (Moddable SDK) is fine.
 * - Any import of a Node built-in module (`node:crypto`, `fs`, `buffer`, …) fails the
 *   bundle with NodeBuiltinImportError naming the module and the file importing it:
 *   such code cannot run on XS. (Node *globals* like `Buffer` or `process` cannot be
 *   seen here; they fail at run time under XS instead.)
 */
import { build, type Metafile, type Plugin } from 'esbuild';
import { builtinModules } from 'node:module';
import { relative, resolve } from 'node:path';

export interface BundleOptions {
  /** Directory that relative paths in messages are shown against; default process.cwd(). */
  root?: string;
  /** Minify (smaller source to parse; keep false for readable XS stack traces). */
  minify?: boolean;
  /** esbuild `define` entries. */
  define?: Record<string, string>;
}

export interface Bundle {
  /** The script to evaluate under XS. */
  code: string;
  /** Input files (relative to the working directory) that went into the bundle. */
  inputs: string[];
}

export class NodeBuiltinImportError extends Error {
  constructor(readonly imports: { module: string; importer: string }[]) {
    super(
      'the bundle imports Node built-in modules, which do not exist under XS: ' +
        imports.map((i) => `'${i.module}' (imported by ${i.importer})`).join(', '),
    );
    this.name = 'NodeBuiltinImportError';
  }
}

const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

function isNodeBuiltin(spec: string): boolean {
  if (spec.startsWith('node:')) return true;
  return builtins.has(spec) || builtins.has(spec.split('/')[0]);
}

export async function bundleForXs(entryTs: string, opts: BundleOptions = {}): Promise<Bundle> {
  const root = opts.root ?? process.cwd();
  const entry = resolve(root, entryTs);
  const found: { module: string; importer: string }[] = [];
  const rejectNodeBuiltins: Plugin = {
    name: 'reject-node-builtins',
    setup(b) {
      b.onResolve({ filter: /.*/ }, (args) => {
        if (args.kind === 'entry-point' || !isNodeBuiltin(args.path)) return undefined;
        found.push({ module: args.path, importer: relative(root, args.importer) || args.importer });
        // Keep going so that every offending import is reported at once.
        return { path: args.path, external: true };
      });
    },
  };
  const result = await build({
    entryPoints: [entry],
    absWorkingDir: root,
    bundle: true,
    write: false,
    format: 'iife',
    platform: 'neutral',
    // platform neutral sets no main fields or conditions; npm packages need these.
    mainFields: ['module', 'main'],
    conditions: ['import', 'default'],
    target: 'es2020',
    supported: { 'class-static-field': false },
    banner: { js: '"use strict";' },
    minify: opts.minify ?? false,
    define: opts.define,
    sourcemap: false,
    metafile: true,
    logLevel: 'silent',
    plugins: [rejectNodeBuiltins],
  });
  if (found.length > 0) throw new NodeBuiltinImportError(found);
  const out = result.outputFiles[0];
  if (!out) throw new Error(`esbuild produced no output for ${entryTs}`);
  const metafile = result.metafile as Metafile;
  return { code: out.text, inputs: Object.keys(metafile.inputs) };
}
