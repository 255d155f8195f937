// A relay on https:// and wss:// with a certificate from a throwaway test CA (made here
// with openssl), and a hosted doorbell (`sealbell doorbell`) that was told that CA inside
// the setup channel (`sealbell phone setup --relay-ca`): it uploads over wss:// and the
// phone's clip opens with stock `age -d`. The same relay presenting a certificate from
// another CA is refused (the doorbell's log says why, the clip stays in its spool and
// goes up once the right certificate is back), although the doorbell's process could
// trust that other CA through Node's own store: the setup CA is all it trusts. The phone
// keeps the CA from setup and trusts it alone for that relay, too.
// Bad --relay-ca and --tls-key files fail with a clear error and code.
// Every command is a real child process; everything is on loopback.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { requireTool, run, tempDir } from './helpers.js';
import { eventually, ok, sealbell, startedCommands } from './cli-helpers.js';
import { makeTestCa, type TestCa } from '../tools/test-ca.js';

describe('TLS to the relay: the CA from setup, and nothing else', function () {
  this.timeout(600_000);
  const dir = tempDir('relay-tls');
  const at = (...p: string[]) => path.join(dir, ...p);
  const start = startedCommands();
  const savedExtraCa = process.env.NODE_EXTRA_CA_CERTS;
  let good: TestCa;
  let other: TestCa;

  before(() => {
    requireTool('openssl');
    good = makeTestCa(dir, 'good');
    other = makeTestCa(dir, 'other');
    // Node's own store in every child process (phone tools, doorbell) holds the *other* CA only:
    // the phone reaches the relay through the CA it keeps from setup, and the doorbell must
    // trust the CA from setup alone, not what Node's store adds.
    process.env.NODE_EXTRA_CA_CERTS = other.ca;
  });
  after(async () => {
    if (savedExtraCa === undefined) delete process.env.NODE_EXTRA_CA_CERTS;
    else process.env.NODE_EXTRA_CA_CERTS = savedExtraCa;
  });

  it('setup with --relay-ca → clip over wss:// → age -d; a certificate from another CA is refused and the clip waits in the spool', async () => {
    requireTool('age');
    const relayArgs = (tls: { chain: string; key: string }, port: string) => ['relay', '--port', port, '--data', at('relay'), '--tls-cert', tls.chain, '--tls-key', tls.key];
    let relay = start(relayArgs(good, '0'));
    const relayUrl = (await relay.wait(/relay: (https:\/\/127\.0\.0\.1:(\d+))/))[1];
    const relayPort = relayUrl.split(':')[2];
    assert.match(relay.out, /uplink wss:\/\/127\.0\.0\.1:\d+\/v1\/uplink/);

    ok(await sealbell(['provision', '--out', at('factory'), '--state', at('door')]));
    const code = fs.readFileSync(at('factory', 'setup-label.txt'), 'utf8').match(/\d{4}-\d{4}-\d{4}/)![0];
    const door = start(['doorbell', '--state', at('door'), '--setup-port', '0', '--clip-seconds', '2']);
    const setupUrl = (await door.wait(/setup endpoint: (http:\/\/127\.0\.0\.1:\d+\/setup)/))[1];

    const init = ok(await sealbell(['phone', 'init', '--dir', at('phone')]));
    const passphrase = init.match(/^ {4}((?:[a-z]+ ){11}[a-z]+)$/m)![1];
    const env = { SEALBELL_WIFI_PASSWORD: 'hunter2 but longer', SEALBELL_PASSPHRASE: passphrase };
    ok(await sealbell(['phone', 'setup', '--dir', at('phone'), '--endpoint', setupUrl, '--code', code, '--ssid', 'Home', '--relay', relayUrl, '--relay-ca', good.ca, '--admin-token-file', at('relay', 'admin-token')], { env }));
    await door.wait(/uplink: relay wss:\/\/127\.0\.0\.1:\d+\/v1\/uplink \(TLS: the CA from setup\)/);
    await door.wait(/connected to the relay/);

    // A clip over wss://, fetched by the phone over https:// and opened by stock age.
    const press = async () => ok(await sealbell(['doorbell', 'press', '--state', at('door')])).match(/clip ([0-9A-Za-z_-]+)/)![1];
    const verified = (clip: string) => eventually(`clip ${clip} at the relay, verified`, async () => new RegExp(`${clip}\\s+verified`).test((await sealbell(['phone', 'clips', '--dir', at('phone')])).stdout));
    const first = await press();
    await door.wait(new RegExp(`clip ${first}: done`));
    await verified(first);
    ok(await sealbell(['phone', 'fetch', first, '--dir', at('phone'), '--out', at('first.mkv')]));
    const agePath = at('phone', 'clips', `${first}.age`);
    assert.ok(fs.existsSync(agePath), 'the phone keeps the sealed clip');
    assert.ok(fs.readdirSync(at('phone', 'devices')).some((id) => fs.existsSync(at('phone', 'devices', id, 'relay-ca.pem'))), 'the phone keeps the CA');
    run('age', ['-d', '-i', at('phone', 'identity.key'), '-o', at('first-age.mkv'), agePath]);
    assert.equal(fs.readFileSync(at('first-age.mkv')).subarray(0, 4).toString('hex'), '1a45dfa3', 'a Matroska file');

    // A second phone joins with the passphrase alone, told the relay's CA: it keeps it and gets in.
    ok(await sealbell(['phone', 'enroll', '--dir', at('phone2'), '--relay', relayUrl, '--relay-ca', good.ca, '--name', 'tablet'], { input: `${passphrase}\n` }));
    assert.match(ok(await sealbell(['phone', 'clips', '--dir', at('phone2')])), new RegExp(first));

    // The same address now presents a certificate from another CA (one Node's store trusts).
    await relay.stop();
    const from = door.out.length;
    relay = start(relayArgs(other, relayPort));
    await relay.wait(/relay: https:/);
    const refused = await door.wait(/uplink: closed \(1006 (TLS: the server's certificate is not trusted[^)\n]*)/, from);
    assert.match(refused[1], /\[[A-Z_]+\]/, 'the reason names the TLS error');
    // a second refusal: the uplink keeps trying (with backoff)
    await door.wait(/uplink: closed \(1006 TLS: the server's certificate is not trusted/, from + refused.index! + refused[0].length);
    const second = await press();
    await door.wait(new RegExp(`clip ${second}: done`), from);
    assert.doesNotMatch(door.out.slice(from), /connected to the relay/, 'never connected to the stranger');
    const phoneRefused = await sealbell(['phone', 'clips', '--dir', at('phone')]);
    assert.equal(phoneRefused.status, 1, 'the phone refuses that relay too');
    assert.match(phoneRefused.stderr, /cannot reach the relay https:\/\/127\.0\.0\.1:\d+: .*\[RELAY_TLS\]/);

    // The right certificate again: the clip kept in the spool goes up.
    await relay.stop();
    relay = start(relayArgs(good, relayPort));
    await door.wait(/connected to the relay/, from);
    await verified(second);
    ok(await sealbell(['phone', 'fetch', second, '--dir', at('phone'), '--out', at('second.mkv')]));
    await door.stop();
  });

  it('phone setup with an unreadable, non-certificate or misplaced --relay-ca fails before anything is sent', async () => {
    const setup = (ca: string, relay = 'https://127.0.0.1:9') =>
      sealbell(['phone', 'setup', '--dir', at('nophone'), '--endpoint', 'http://127.0.0.1:9/setup', '--code', '0000-0000-0000', '--ssid', 'Home', '--relay', relay, '--relay-ca', ca]);
    const missing = await setup(at('no-such-ca.pem'));
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /cannot read the relay CA certificate .*no-such-ca\.pem.*\[TLS_CERTIFICATE\]/);
    const notCert = await setup(good.key);
    assert.equal(notCert.status, 1);
    assert.match(notCert.stderr, /is not an X\.509 certificate.*\[TLS_CERTIFICATE\]/);
    assert.doesNotMatch(notCert.stderr, /PRIVATE KEY|at .*\.js/, 'no key material, no stack');
    const chain = await setup(good.chain);
    assert.equal(chain.status, 1);
    assert.match(chain.stderr, /holds 2 certificates.*\[TLS_CERTIFICATE\]/);
    const plain = await setup(good.ca, 'http://127.0.0.1:9');
    assert.equal(plain.status, 1);
    assert.match(plain.stderr, /needs an https:\/\/ or wss:\/\/ relay URL \[SETUP_CONFIG\]/);
  });

  it('a relay with a key that does not match its certificate, or no key file, does not start', async () => {
    const mismatch = await sealbell(['relay', '--port', '0', '--data', at('relay2'), '--tls-cert', good.chain, '--tls-key', other.key]);
    assert.equal(mismatch.status, 1);
    assert.match(mismatch.stderr, /the TLS key .* does not match the certificate \[TLS_KEY\]/);
    const noKey = await sealbell(['relay', '--port', '0', '--data', at('relay2'), '--tls-cert', good.chain, '--tls-key', at('nokey.pem')]);
    assert.equal(noKey.status, 1);
    assert.match(noKey.stderr, /cannot read the TLS key .*\[TLS_KEY\]/);
  });
});
