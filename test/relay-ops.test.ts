/**
 * The operator's view of a relay: /metrics (Prometheus text, admin token
 * only) counts what a doorbell uploaded and what was refused, and /v1/health
 * answers 503 STORE_FAILING once the store cannot write.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { ADMIN_TOKEN, closeRelays, drive, errorCode, rawRequest, startTestRelay, T0, TestDevice, type Clock } from './relay-helpers.js';

/** The value of an unlabelled or labelled sample, e.g. `name` or `name{le="+Inf"}`. */
function sample(text: string, name: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

describe('relay operator endpoints', function () {
  this.timeout(60_000);
  afterEach(closeRelays);

  it('/metrics counts doorbells, segments, bytes, acknowledgements, batches and refusals', async () => {
    const relay = await startTestRelay();
    const clock: Clock = { now: T0 };
    const dev = await TestDevice.create({ seed: 'ops-metrics', relay, clock });
    const clip = dev.recordClip(clock.now, 30);
    dev.uplink.start(clock.now);
    await drive(clock, [dev], () => dev.spool.empty, { what: 'the clip reaches the relay' });
    // one refusal: an uplink without a credential
    const refused = await rawRequest(relay.url, 'GET', '/v1/uplink', { headers: { connection: 'upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==' } });
    assert.equal(refused.status, 401);

    const res = await rawRequest(relay.url, 'GET', '/metrics', { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    assert.equal(res.status, 200);
    assert.match(String(res.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    const stored = relay.stats.segmentsStored;
    const bytes = dev.sealedAge(clip).length;
    assert.ok(stored > 1);
    assert.equal(sample(res.body, 'sealbell_relay_connected_doorbells'), 1);
    assert.equal(sample(res.body, 'sealbell_relay_segments_stored_total'), stored);
    assert.equal(sample(res.body, 'sealbell_relay_segment_bytes_stored_total'), bytes);
    assert.equal(sample(res.body, 'sealbell_relay_ack_latency_seconds_count'), stored);
    assert.equal(sample(res.body, 'sealbell_relay_ack_latency_seconds_bucket{le="+Inf"}'), stored);
    const batches = sample(res.body, 'sealbell_relay_fsync_batch_segments_count')!;
    assert.ok(batches >= 1 && batches <= stored, `${batches} batches for ${stored} segments`);
    assert.equal(sample(res.body, 'sealbell_relay_fsync_batch_segments_sum'), stored);
    assert.equal(sample(res.body, 'sealbell_relay_refusals_total{reason="http_401"}'), 1);
    assert.ok(!res.body.includes(dev.id), 'no device ids in the metrics');

    const anonymous = await rawRequest(relay.url, 'GET', '/metrics');
    assert.equal(anonymous.status, 401);
    assert.equal(errorCode(anonymous.body), 'UNAUTHENTICATED');
    const post = await rawRequest(relay.url, 'POST', '/metrics', { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    assert.equal(post.status, 405);
    assert.equal(errorCode(post.body), 'METHOD_NOT_ALLOWED');
    dev.crash();
  });

  it('/v1/health is 200 while the store works and 503 STORE_FAILING when its data folder is gone', async () => {
    const relay = await startTestRelay();
    const ok = await rawRequest(relay.url, 'GET', '/v1/health');
    assert.equal(ok.status, 200);
    assert.deepEqual(JSON.parse(ok.body), { ok: true });
    fs.rmSync(relay.dataDir, { recursive: true, force: true });
    const failing = await rawRequest(relay.url, 'GET', '/v1/health');
    assert.equal(failing.status, 503);
    assert.equal(errorCode(failing.body), 'STORE_FAILING');
  });
});
