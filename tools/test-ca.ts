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
  /** the server certificate alone (PEM) */
  cert: string;
  /** the CA's private key (PEM), to issue further certificates */
  caKey: string;
}

function openssl(args: string[]): void {
  const r = spawnSync('openssl', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl ${args[0]} failed (exit ${r.status}): ${r.stderr}`);
}

const P256 = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

/** Makes `<name>-ca.pem`, `<name>-chain.pem`, `<name>-server.key` (and the files between) in `dir`; the server certificate names `ips`. */
export function makeTestCa(dir: string, name: string, ips: string[] = ['127.0.0.1']): TestCa {
  const at = (f: string) => path.join(dir, `${name}-${f}`);
  fs.mkdirSync(dir, { recursive: true });
  openssl(['req', '-x509', ...P256, '-keyout', at('ca.key'), '-out', at('ca.pem'), '-days', '3', '-subj', `/CN=sealbell test ${name}`]);
  return issueServerCert(dir, name, { ca: at('ca.pem'), caKey: at('ca.key') }, ips.map((ip) => `IP:${ip}`));
}

/**
 * A further server certificate from an existing test CA, files `<name>-…` in `dir`, naming
 * `names` (subjectAltName entries: `IP:10.0.2.2`, `DNS:relay.example`): e.g. one for a name
 * the doorbell does not dial, which it must refuse although the CA is the right one.
 */
export function issueServerCert(dir: string, name: string, by: { ca: string; caKey: string }, names: string[]): TestCa {
  const at = (f: string) => path.join(dir, `${name}-${f}`);
  openssl(['req', '-new', ...P256, '-keyout', at('server.key'), '-out', at('server.csr'), '-subj', `/CN=${names[0]!.replace(/^\w+:/, '')}`]);
  fs.writeFileSync(at('ext.cnf'), `subjectAltName=${names.join(',')}\nbasicConstraints=CA:FALSE\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n`);
  openssl(['x509', '-req', '-in', at('server.csr'), '-CA', by.ca, '-CAkey', by.caKey, '-CAcreateserial', '-days', '2', '-extfile', at('ext.cnf'), '-out', at('server.pem')]);
  fs.writeFileSync(at('chain.pem'), fs.readFileSync(at('server.pem'), 'utf8') + fs.readFileSync(by.ca, 'utf8'));
  return { ca: by.ca, caKey: by.caKey, chain: at('chain.pem'), key: at('server.key'), cert: at('server.pem') };
}

/**
 * The impostor of the Moddable SDK's chain check (which skips a link that does not verify
 * and accepts the chain when its last certificate does): an attacker's own self-signed
 * certificate naming `ips`, followed by the GENUINE relay certificate (`genuine.cert`, which
 * anyone who connects to the relay gets), with the attacker's key. Files `<name>-…` in `dir`;
 * `ca` stays the genuine CA (what the doorbell trusts), `caKey` is the attacker's key.
 */
export function makeImpostorChain(dir: string, name: string, genuine: TestCa, ips: string[] = ['127.0.0.1']): TestCa {
  const at = (f: string) => path.join(dir, `${name}-${f}`);
  openssl(['req', '-x509', ...P256, '-keyout', at('server.key'), '-out', at('server.pem'), '-days', '2', '-subj', `/CN=${ips[0]}`,
    '-addext', `subjectAltName=${ips.map((ip) => `IP:${ip}`).join(',')}`, '-addext', 'basicConstraints=CA:FALSE']);
  fs.writeFileSync(at('chain.pem'), fs.readFileSync(at('server.pem'), 'utf8') + fs.readFileSync(genuine.cert, 'utf8'));
  return { ca: genuine.ca, caKey: at('server.key'), chain: at('chain.pem'), key: at('server.key'), cert: at('server.pem') };
}
