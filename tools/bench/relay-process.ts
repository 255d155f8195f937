/**
 * The relay in a process of its own, as an operator runs it (`sealbell relay`
 * via bin/sealbell.js, from dist/): for the ingest benchmark, so the doorbells'
 * work is not on the relay's event loop, and for the crash test, which kills
 * it with SIGKILL.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'bin', 'sealbell.js');

export interface RelayProcess {
  url: string;
  uplinkUrl: string;
  child: ChildProcess;
  /** resolves when the process has exited */
  exited: Promise<void>;
  /** SIGKILL: no shutdown, no flush */
  kill(): Promise<void>;
  /** SIGTERM: the relay's own shutdown */
  stop(): Promise<void>;
}

/**
 * Starts `sealbell relay --port 0 --data <dataDir>` and waits (up to `boundMs`) until it listens;
 * `extraArgs` are added (e.g. `--db postgres://…`).
 */
export function startRelayProcess(dataDir: string, adminToken: string, boundMs = 60_000, extraArgs: string[] = []): Promise<RelayProcess> {
  const child = spawn(process.execPath, [BIN, 'relay', '--port', '0', '--host', '127.0.0.1', '--data', dataDir, ...extraArgs], {
    env: { ...process.env, SEALBELL_ADMIN_TOKEN: adminToken },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let output = '';
  let listening = false;
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null) => fail(new Error(`the relay exited (${code}) before listening: ${output}`));
    const timer = setTimeout(() => fail(new Error(`the relay did not start within ${boundMs} ms: ${output}`)), boundMs);
    const fail = (e: Error) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(e);
    };
    child.once('exit', onExit);
    // Both pipes are read to the end, so the relay never blocks on a full pipe.
    child.stderr!.on('data', (d: Buffer) => {
      if (!listening) output += d.toString('utf8');
    });
    child.stdout!.on('data', (d: Buffer) => {
      if (listening) return;
      output += d.toString('utf8');
      const m = /relay: (http:\/\/\S+) \(uplink (ws:\/\/\S+)\)/.exec(output);
      if (!m) return;
      listening = true;
      clearTimeout(timer);
      child.off('exit', onExit);
      resolve({
        url: m[1],
        uplinkUrl: m[2],
        child,
        exited,
        kill: async () => {
          child.kill('SIGKILL');
          await exited;
        },
        stop: async () => {
          child.kill('SIGTERM');
          await exited;
        },
      });
    });
  });
}
