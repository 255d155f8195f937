/**
 * The simulator's preferences: one file per key under a folder of its own
 * (the SDK's Linux `preference` keeps every app's values in one shared
 * /tmp/modpreferences.json and rewrites it in place). A value is written to a
 * temporary file and renamed over the old one, so a crash keeps one or the other.
 * Used behind PreferenceStore (kv-store.ts), exactly like `preference` on a device.
 */
import { File, Directory } from 'file';
import type { PreferenceLike } from './kv-store.js';

const SAFE = /^[A-Za-z0-9._~#-]{1,64}$/;

export class FilePreferences implements PreferenceLike {
  /** `root` ends with "/" and exists */
  constructor(private readonly root: string) {
    Directory.create(root);
  }

  private path(domain: string, key: string): string {
    if (!SAFE.test(domain) || !SAFE.test(key) || domain.startsWith('.') || key.startsWith('.')) {
      throw new RangeError(`preference name not usable as a file name: ${domain}/${key}`);
    }
    return `${this.root}${domain}.${key}`;
  }

  get(domain: string, key: string): ArrayBuffer | undefined {
    const p = this.path(domain, key);
    if (!File.exists(p)) return undefined;
    const f = new File(p);
    try {
      return f.length ? f.read(ArrayBuffer) : new ArrayBuffer(0);
    } finally {
      f.close();
    }
  }

  set(domain: string, key: string, value: ArrayBuffer): void {
    const p = this.path(domain, key);
    const tmp = `${p}.tmp`;
    File.delete(tmp);
    const f = new File(tmp, true);
    try {
      f.write(value);
    } finally {
      f.close();
    }
    if (!File.rename(tmp, p)) throw new Error(`cannot store preference ${key}`);
  }

  delete(domain: string, key: string): void {
    File.delete(this.path(domain, key));
  }
}
