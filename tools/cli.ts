/** The `sealbell` command. */
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { runDemo } from './demo.js';
import { checkClip, clipPaths } from './clip-check.js';
import { parseIdentityFile } from '../src/age/identity-file.js';
import { SealbellError } from '../src/errors.js';

const USAGE = `usage: sealbell <command> [options]

commands:
  demo     run the hosted simulator end to end
             --out DIR      where to leave keys and clips (default: sealbell-demo)
             --clips N      clips to record (default 3)
             --phones M     enrolled phones (default 2)
             --seconds S    seconds per clip (default 4)
             --fps F        camera frames per second (default 10)
  verify   check a clip against its signed manifest
             sealbell verify CLIP.age --pub DEVICE.pub [-i PHONE.key] [--out VIDEO.mkv]
             [--manifest FILE] [--signature FILE]
             Without -i only the signature and the payload hash are checked.
`;

type Handler = (args: string[]) => Promise<void>;

const commands: Record<string, Handler> = {
  async demo(args) {
    const { values } = parseArgs({
      args,
      options: {
        out: { type: 'string', default: 'sealbell-demo' },
        clips: { type: 'string', default: '3' },
        phones: { type: 'string', default: '2' },
        seconds: { type: 'string', default: '4' },
        fps: { type: 'string', default: '10' },
      },
    });
    await runDemo({
      out: values.out!,
      clips: positiveInt(values.clips!, '--clips'),
      phones: positiveInt(values.phones!, '--phones'),
      seconds: positiveInt(values.seconds!, '--seconds'),
      fps: positiveInt(values.fps!, '--fps'),
      log: (l) => console.log(l),
    });
  },

  async verify(args) {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        pub: { type: 'string' },
        identity: { type: 'string', short: 'i', multiple: true },
        out: { type: 'string', short: 'o' },
        manifest: { type: 'string' },
        signature: { type: 'string' },
      },
    });
    if (positionals.length !== 1 || !values.pub) throw new UsageError('verify needs one clip and --pub');
    const identities = (values.identity ?? []).flatMap((f) => parseIdentityFile(fs.readFileSync(f, 'utf8')));
    if (values.out && !identities.length) throw new UsageError('--out needs an identity (-i) to decrypt with');
    const paths = clipPaths(positionals[0], values.manifest, values.signature);
    const { manifest, opened } = checkClip(paths, fs.readFileSync(values.pub, 'utf8'), { identities, out: values.out });
    console.log(`ok: clip ${manifest.clip} from device ${manifest.device}, epoch ${manifest.epoch}, ${manifest.frames} frames, ` +
      `${new Date(manifest.start).toISOString()} – ${new Date(manifest.end).toISOString()}` +
      (opened ? `; decrypted ${opened.frames} frames ${opened.info.width}x${opened.info.height}` : '; payload hash matches (not decrypted)'));
    if (manifest.dropped.length) console.log(`note: the device dropped ${manifest.dropped.length} clip(s) before this one: ${manifest.dropped.join(', ')}`);
  },
};

class UsageError extends Error {}

function positiveInt(s: string, name: string): number {
  const n = Number(s);
  if (!Number.isSafeInteger(n) || n < 1) throw new UsageError(`${name} must be a positive whole number`);
  return n;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  const command = name ? commands[name] : undefined;
  if (!command) {
    process.stderr.write(USAGE);
    return name === undefined || name === 'help' || name === '--help' ? 0 : 2;
  }
  try {
    await command(rest);
    return 0;
  } catch (e) {
    if (e instanceof SealbellError) {
      process.stderr.write(`sealbell ${name}: ${e.message} [${e.code}]\n`);
      return 1;
    }
    if (e instanceof UsageError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`sealbell ${name}: ${(e as Error).message}\n\n${USAGE}`);
      return 2;
    }
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      process.stderr.write(`sealbell ${name}: no such file: ${(e as NodeJS.ErrnoException).path}\n`);
      return 1;
    }
    throw e;
  }
}
