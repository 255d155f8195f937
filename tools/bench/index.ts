/**
 * `npm run bench`: speed and cost figures, deterministic where the tool allows
 * (XS meter units, callgrind instruction counts); wall-clock figures are medians.
 * `npm run bench -- --json` prints one JSON object of named figures.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { ClipSealer } from '../../src/clip/sealer.js';
import { prepareHeader } from '../../src/clip/prepared-header.js';
import { Doorbell } from '../../src/device/doorbell.js';
import { loadOrCreateIdentity } from '../../src/device/identity.js';
import { generateIdentity, identityToRecipient } from '../../src/age/x25519.js';
import { systemRandom } from '../../src/crypto/noble.js';
import type { ClipSink } from '../../src/host.js';
import { MemoryKeyValueStore } from '../../src/memory-store.js';
import { nodeBackend } from '../../hosts/node/backend.js';
import { openXs } from '../xs/run.js';
import { xsJsSealPerByte } from './xs.js';
import { nativeSealInstructionsPerByte } from './native.js';
import { nativeWorker, xsStreamFigures } from './xs-stream.js';
import { setupCosts } from './setup.js';
import { rosterCosts } from './roster.js';
import { relayBench, relayScaleBench } from './relay.js';
import { benchLiveLatency, xsLiveStartCost } from './live.js';
import { pqFigures } from './pq.js';
import { preRollMemory } from './preroll.js';
import { motionFigures } from './motion.js';
import { benchPushLatency } from './push.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
type Figures = Record<string, number | string>;

const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Median CPU time of this process (ms) over `runs`: steadier than wall time on a shared machine. */
function timeMs(fn: () => void, runs = 7): number {
  fn(); // warm-up
  return median(Array.from({ length: runs }, () => {
    const t = process.cpuUsage();
    fn();
    const d = process.cpuUsage(t);
    return (d.user + d.system) / 1000;
  }));
}

const nullSink: ClipSink = { begin() {}, segment() {}, end() {} };
const recipients = (n: number) => ({ epoch: 1, recipients: Array.from({ length: n }, () => identityToRecipient(generateIdentity(systemRandom))) });

/** Whole sealer (container, STREAM, payload hash, segment hand-off) vs raw noble AEAD over the same bytes. */
function nodeSealThroughput(): Figures {
  const frame = new Uint8Array(40_000).fill(7);
  const frames = 800; // 32 MB
  const set = recipients(1);
  const sealer = () => {
    const s = new ClipSealer({ backend: nodeBackend, header: prepareHeader(set, systemRandom), clipId: 'bench', deviceId: 'bench', startTime: 0, width: 800, height: 600, sink: nullSink });
    for (let i = 0; i < frames; i++) s.addFrame(frame, i * 40);
    s.finish();
  };
  const bytes = frames * frame.length;
  const plain = new Uint8Array(65536).fill(7);
  const out = new Uint8Array(65536 + 16);
  const key = new Uint8Array(32);
  const nonce = new Uint8Array(12);
  const raw = () => {
    for (let off = 0; off < bytes; off += 65536) chacha20poly1305(key, nonce).encrypt(plain, out);
  };
  // interleaved, so that a busy shared machine slows both alike
  const cpuMs = (fn: () => void) => {
    const t = process.cpuUsage();
    fn();
    const d = process.cpuUsage(t);
    return (d.user + d.system) / 1000;
  };
  sealer(); // warm-up
  raw();
  const sealerRuns: number[] = [];
  const rawRuns: number[] = [];
  for (let i = 0; i < 9; i++) {
    sealerRuns.push(cpuMs(sealer));
    rawRuns.push(cpuMs(raw));
  }
  const sealerMs = median(sealerRuns);
  const rawMs = median(rawRuns);
  const mbps = (ms: number) => bytes / 1e6 / (ms / 1000);
  return {
    node_seal_mb_per_s: +mbps(sealerMs).toFixed(1),
    node_raw_noble_aead_mb_per_s: +mbps(rawMs).toFixed(1),
    node_sealer_vs_raw_aead: +(mbps(sealerMs) / mbps(rawMs)).toFixed(3),
  };
}

/** Wall time from the press to the first sealed byte (segment 0) in Node, 3 recipients. */
function nodeTrigger(): Figures {
  let first = 0;
  const sink: ClipSink = { begin() {}, segment(_i, index) { if (index === 0) first = performance.now(); }, end() {} };
  const d = new Doorbell({ backend: nodeBackend, random: systemRandom, identity: loadOrCreateIdentity(new MemoryKeyValueStore(), systemRandom), sink, width: 800, height: 600, headerPoolSize: 1 });
  d.setRecipients(recipients(3));
  let now = 0;
  const press = (ready: boolean) => {
    if (ready) while (d.idle());
    const t = performance.now();
    d.press((now += 60_000));
    const ms = first - t;
    d.finishClip();
    return ms;
  };
  const ready = median(Array.from({ length: 9 }, () => press(true)));
  const cold = median(Array.from({ length: 9 }, () => press(false)));
  return { node_trigger_to_first_byte_ready_ms: +ready.toFixed(3), node_trigger_to_first_byte_cold_ms: +cold.toFixed(3) };
}

/** The XS meter figures of a press (deterministic compute units): header, trigger, first chunk. */
export async function xsTrigger(): Promise<Figures> {
  // the device's own native sealing code when it can be built here (tools/xs-native), else an O(1) stand-in
  const s = await openXs('tools/bench/xs-trigger-entry.ts', { root: ROOT, bin: (await nativeWorker(ROOT)).bin });
  try {
    const units = async (op: string, before?: string) => {
      if (before) await s.call(before);
      return (await s.call(op)).meter.compute;
    };
    await units('header3'); // first use builds noble's precomputed tables
    const noop = await units('noop');
    const header3 = (await units('header3')) - noop;
    await units('trigger_ready', 'fill');
    await s.call('finish');
    const ready = (await units('trigger_ready', 'fill')) - noop;
    await s.call('finish');
    const cold = (await units('trigger_cold')) - noop;
    await s.call('finish');
    await units('first_chunk_ready', 'fill');
    await s.call('finish');
    const firstChunk = (await units('first_chunk_ready', 'fill')) - noop;
    await s.call('finish');
    const largeFrame = (await units('first_chunk_ready_large_frame', 'fill')) - noop;
    await s.call('finish');
    const poster = (await units('first_chunk_poster', 'fill')) - noop;
    await s.call('finish');
    // 3 s of 40 KB frames in the host-memory ring, then a press: it seals pre-roll up to the first chunk
    await s.call('fill');
    const preRollSmall = await units('preroll_fill_small');
    const preRollPushes = await units('preroll_fill');
    const preRoll = (await units('first_chunk_preroll')) - noop;
    const preRollRest = (await units('preroll_rest')) - noop;
    await s.call('finish');
    // the same with a microphone: 3 s of sound between the frames in the ring (once to warm up:
    // the first clip with sound builds its container head)
    for (const op of ['fill', 'preroll_fill_audio', 'first_chunk_preroll_audio', 'finish']) await s.call(op);
    await s.call('fill');
    await s.call('preroll_fill_audio');
    const preRollAudio = (await units('first_chunk_preroll_audio')) - noop;
    await s.call('finish');
    const bytes = (await s.call('frame_bytes')).value as { frame: number; large: number };
    return {
      xs_header_3_recipients: header3,
      xs_trigger_ready: ready,
      xs_trigger_cold: cold,
      xs_trigger_to_first_chunk: firstChunk,
      xs_trigger_to_first_chunk_vs_header_3: +(firstChunk / header3).toFixed(5),
      // a 40 KB frame: it goes into the first chunk twice, as the poster (cover attachment) and as the first frame
      xs_trigger_to_first_chunk_poster: poster,
      // with 3 s of pre-roll (31 frames of 40 KB in the host-memory ring): the press up to the first
      // sealed chunk, then the rest of the pre-roll sealed in idle time, and keeping a frame in the ring
      xs_trigger_to_first_chunk_preroll: preRoll,
      xs_preroll_rest_idle: preRollRest,
      // with sound in the pre-roll (a board with a microphone)
      xs_trigger_to_first_chunk_preroll_audio: preRollAudio,
      xs_preroll_push_per_frame: Math.round((preRollPushes - noop) / 31),
      // XS meters TypedArray.prototype.set by the bytes it copies (a memcpy in C): that is most of the figure above
      xs_preroll_push_units_per_frame_byte: +((preRollPushes - preRollSmall) / 31 / 39_000).toFixed(3),
      // the same with a frame 60,000 bytes larger: JS work that grew with the bytes would show here
      xs_trigger_to_first_chunk_units_per_frame_byte: +((largeFrame - firstChunk) / (bytes.large - bytes.frame)).toFixed(4),
      xs_trigger_to_first_chunk_sealing: (await s.call('backend')).value as string,
    };
  } finally {
    await s.close();
  }
}

async function safely(name: string, fn: () => Promise<Figures> | Figures): Promise<Figures> {
  try {
    return await fn();
  } catch (e) {
    return { [`${name}_error`]: `not measured: ${(e as Error).message.split('\n')[0]}` };
  }
}

export async function runBench(): Promise<Figures> {
  const figures: Figures = {};
  Object.assign(figures, await safely('node_seal', nodeSealThroughput));
  Object.assign(figures, await safely('node_trigger', nodeTrigger));
  Object.assign(figures, await safely('xs_trigger', xsTrigger));
  Object.assign(figures, await safely('preroll', preRollMemory));
  Object.assign(figures, await safely('motion', () => motionFigures(ROOT)));
  Object.assign(figures, await safely('xs_js_seal', async () => ({ xs_js_seal_per_byte: +(await xsJsSealPerByte(ROOT)).toFixed(1) })));
  const native = await nativeSealInstructionsPerByte(ROOT);
  figures.native_seal_x86_instructions_per_byte = typeof native === 'number' ? +native.toFixed(2) : `not measured: ${native}`;
  // trigger → first chunk, the native part (off the XS meter): sealing the chunk's 65,536 bytes
  if (typeof native === 'number') figures.native_first_chunk_x86_instructions = Math.round(native * 65536);
  Object.assign(figures, await safely('xs_stream', () => xsStreamFigures(ROOT)));
  Object.assign(figures, await safely('xs_setup', () => setupCosts(ROOT)));
  Object.assign(figures, await safely('xs_roster', () => rosterCosts(ROOT)));
  Object.assign(figures, await safely('relay', relayBench));
  Object.assign(figures, await safely('relay_scale', relayScaleBench));
  Object.assign(figures, await safely('live', async () => {
    const r = await benchLiveLatency();
    return { ...r, live_within_budget: r.live_within_budget ? 'yes' : 'no' };
  }));
  Object.assign(figures, await safely('xs_live', async () => ({ ...(await xsLiveStartCost(ROOT)), ...(await (await import('./live.js')).xsLiveRecordCost(ROOT)) })));
  Object.assign(figures, await safely('xs_pq', () => pqFigures(ROOT)));
  Object.assign(figures, await safely('push', () => benchPushLatency(20)));
  return figures;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const json = process.argv.includes('--json');
  const figures = await runBench();
  if (json) console.log(JSON.stringify(figures));
  else for (const [k, v] of Object.entries(figures)) console.log(`${k.padEnd(44)} ${v}`);
}
