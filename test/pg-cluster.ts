/**
 * A throwaway PostgreSQL server for tests: Debian's binaries (the postgresql
 * package, /usr/lib/postgresql/<version>/bin), initdb into a temporary folder,
 * listening on 127.0.0.1 at a free port with its unix socket in that folder,
 * stopped and removed by stop(). PostgreSQL refuses to run as root: as root,
 * initdb and the server run as `nobody` (setpriv), owning the folder.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';

export interface PgCluster {
  /** postgres://sealbell@127.0.0.1:PORT/sealbell */
  url: string;
  port: number;
  dir: string;
  /** a new empty database on this server; its URL */
  createDatabase(name: string): Promise<string>;
  stop(): Promise<void>;
}

/** The folder holding initdb and postgres: Debian's newest version, else whatever PATH has. */
export function pgBinDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = fs.existsSync(root) ? fs.readdirSync(root).filter((v) => fs.existsSync(path.join(root, v, 'bin', 'initdb'))) : [];
  versions.sort((a, b) => Number(b) - Number(a));
  if (versions.length) return path.join(root, versions[0], 'bin');
  const onPath = (process.env.PATH ?? '').split(':').find((d) => fs.existsSync(path.join(d, 'initdb')));
  if (!onPath) throw new Error('PostgreSQL is not installed (Debian: apt-get install postgresql)');
  return onPath;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export async function startPgCluster(boundMs = 60_000): Promise<PgCluster> {
  const bin = pgBinDir();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sealbell-pg-'));
  const data = path.join(dir, 'data');
  const asRoot = process.getuid?.() === 0;
  // As root: run as nobody, which must own the folder (and reach it: tmpdir is world-traversable).
  const wrap = (cmd: string, args: string[]): [string, string[]] =>
    asRoot ? ['setpriv', ['--reuid=nobody', '--regid=nogroup', '--clear-groups', '--', cmd, ...args]] : [cmd, args];
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'nobody']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'nobody']).toString().trim());
    fs.chownSync(dir, uid, gid);
  }
  const [initCmd, initArgs] = wrap(path.join(bin, 'initdb'), ['-D', data, '-U', 'sealbell', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync']);
  execFileSync(initCmd, initArgs, { stdio: 'pipe', cwd: dir });
  const port = await freePort();
  const [cmd, args] = wrap(path.join(bin, 'postgres'), ['-D', data, '-p', String(port), '-h', '127.0.0.1', '-k', dir, '-c', 'max_connections=100']);
  const child: ChildProcess = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], cwd: dir });
  let log = '';
  child.stderr!.on('data', (d: Buffer) => {
    if (log.length < 20_000) log += d.toString('utf8');
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const admin = `postgres://sealbell@127.0.0.1:${port}/postgres`;
  // Ready when a connection succeeds (waits are for that event, bounded).
  const deadline = Date.now() + boundMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`postgres exited (${child.exitCode}): ${log}`);
    const c = new pg.Client({ connectionString: admin });
    try {
      await c.connect();
      await c.end();
      break;
    } catch {
      await c.end().catch(() => {});
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`postgres did not start within ${boundMs} ms: ${log}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const createDatabase = async (name: string): Promise<string> => {
    if (!/^[a-z][a-z0-9_]{0,40}$/.test(name)) throw new Error(`bad database name ${name}`);
    const c = new pg.Client({ connectionString: admin });
    await c.connect();
    try {
      await c.query(`CREATE DATABASE ${name}`);
    } finally {
      await c.end();
    }
    return `postgres://sealbell@127.0.0.1:${port}/${name}`;
  };
  const url = await createDatabase('sealbell');
  return {
    url,
    port,
    dir,
    createDatabase,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGINT'); // "fast" shutdown: ends sessions, checkpoints, exits
        const bound = setTimeout(() => child.kill('SIGKILL'), 30_000);
        await exited;
        clearTimeout(bound);
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
