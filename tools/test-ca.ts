/**
 * A throwaway certificate authority for loopback TLS checks (tests, tools/moddable-e2e.ts),
 * made with the `openssl` command: a self-signed P-256 CA and a server certificate for
 * 127.0.0.1 it signed (subjectAltName IP, key identifiers, which the Moddable SDK's chain
 * check needs), and for any further addresses given (tools/qemu-e2e.ts: 10.0.2.2, where
 * QEMU's user network reaches the host's loopback, is the name the emulated doorbell checks).
 * Never for a relay anyone relies on.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export interface TestCa {
  /** the CA certificate (PEM): what `sealbell phone setup --relay-ca` gets */
  ca: string;
  /** the server certificate then the CA's (PEM): `sealbell relay --tls-cert` */
  chain: string;
  /** the server's private key (PEM): `sealbell relay --tls-key` */
  key: string;
}

function openssl(args: string[]): void {
  const r = spawnSync('openssl', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl ${args[0]} failed (exit ${r.status}): ${r.stderr}`);
}

/** Makes `<name>-ca.pem`, `<name>-chain.pem`, `<name>-server.key` (and the files between) in `dir`; the server certificate names `ips`. */
export function makeTestCa(dir: string, name: string, ips: string[] = ['127.0.0.1']): TestCa {
  const at = (f: string) => path.join(dir, `${name}-${f}`);
  fs.mkdirSync(dir, { recursive: true });
  const p256 = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  openssl(['req', '-x509', ...p256, '-keyout', at('ca.key'), '-out', at('ca.pem'), '-days', '3', '-subj', `/CN=sealbell test ${name}`]);
  openssl(['req', '-new', ...p256, '-keyout', at('server.key'), '-out', at('server.csr'), '-subj', '/CN=127.0.0.1']);
  fs.writeFileSync(at('ext.cnf'), `subjectAltName=${ips.map((ip) => `IP:${ip}`).join(',')}\nbasicConstraints=CA:FALSE\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n`);
  openssl(['x509', '-req', '-in', at('server.csr'), '-CA', at('ca.pem'), '-CAkey', at('ca.key'), '-CAcreateserial', '-days', '2', '-extfile', at('ext.cnf'), '-out', at('server.pem')]);
  fs.writeFileSync(at('chain.pem'), fs.readFileSync(at('server.pem'), 'utf8') + fs.readFileSync(at('ca.pem'), 'utf8'));
  return { ca: at('ca.pem'), chain: at('chain.pem'), key: at('server.key') };
}
