/**
 * A load doorbell: speaks the uplink wire protocol (docs/relay-api.md,
 * "Uplink") straight over `ws`, without sealing, so that one process can stand
 * in for a hundred doorbells streaming sealed-size chunks. It opens a clip,
 * keeps `window` segments in flight (never more than the relay's latest hello
 * allows), and records what the relay acknowledged and how long each
 * acknowledgement took (from sending it), and what it refused for its quota
 * (settled: not sent again). It floods (a backlog) or keeps a
 * camera's pace (recording). The relay checks segments only when a clip ends, so
 * the bytes may be anything; the clip is left open (or marked incomplete).
 *
 * Used by the ingest benchmark (tools/bench/relay.ts) and the crash test
 * (test/relay-crash.test.ts), which rebuilds each acknowledged segment's bytes
 * from `segment(clip, index)` and compares them with what the relay kept, and
 * test/relay-postgres-exact.test.ts (the quota across relay processes).
 */
import WebSocket from 'ws';
import { encodeControl, encodeSegmentFrame, type RelayMessage } from '../../src/uplink/wire.js';
import { SEALED_CHUNK_SIZE } from '../../src/age/stream.js';

export { SEALED_CHUNK_SIZE };

export interface WireDoorbellOptions {
  uplinkUrl: string;
  credential: string;
  /** segments in flight at most (the relay's hello may lower it) */
  window: number;
  /** the bytes of a segment */
  segment: (clip: string, index: number) => Uint8Array;
  /** called with each acknowledged segment */
  onAck?: (clip: string, index: number) => void;
  /** called with each segment the relay refused for its quota (`quota`: not stored; not sent again here) */
  onQuota?: (clip: string, index: number, code: string) => void;
  /**
   * A camera's pace: a segment becomes ready every `intervalMs` (the first
   * `phaseMs` after the relay's hello) instead of all at once, as when a
   * doorbell records rather than catches up a backlog.
   */
  pace?: { intervalMs: number; phaseMs: number };
}

export interface StreamResult {
  /** indexes acknowledged, in the order the acks came */
  acked: number[];
  /** indexes refused for the relay's quota, in the order the refusals came */
  refused: number[];
  /** ms from sending each acknowledged segment to its ack */
  latenciesMs: number[];
  payloadBytes: number;
  /** performance.now() at the first segment sent and at the last acknowledgement (0: none) */
  firstSentAt: number;
  lastAckAt: number;
  /** how the connection ended: 'done' when every segment was acknowledged or refused for the quota */
  end: 'done' | 'closed';
}

export class WireDoorbell {
  constructor(private readonly o: WireDoorbellOptions) {}

  /**
   * Streams segments `from` … `from + segments - 1` of a clip (sending "begin"
   * first, which the relay ignores for a clip it has); resolves when all are
   * acknowledged or the connection ends.
   */
  stream(clip: string, segments: number, from = 0, epoch = 1): Promise<StreamResult> {
    const r: StreamResult = { acked: [], refused: [], latenciesMs: [], payloadBytes: 0, firstSentAt: 0, lastAckAt: 0, end: 'closed' };
    const sentAt = new Map<number, number>();
    let next = from;
    const last = from + segments;
    let window = this.o.window;
    const ws = new WebSocket(this.o.uplinkUrl, { headers: { authorization: `Bearer ${this.o.credential}` }, perMessageDeflate: false, maxPayload: 1 << 20 });
    let readyFrom = 0;
    let timer: NodeJS.Timeout | undefined;
    const pace = this.o.pace;
    const due = (k: number) => (pace ? readyFrom + (k - from) * pace.intervalMs : 0);
    const pump = () => {
      while (next < last && sentAt.size < window && ws.readyState === ws.OPEN) {
        if (pace && performance.now() < due(next)) {
          timer ??= setTimeout(() => {
            timer = undefined;
            pump();
          }, due(next) - performance.now());
          return;
        }
        const bytes = this.o.segment(clip, next);
        const now = performance.now();
        sentAt.set(next, now);
        r.firstSentAt ||= now;
        ws.send(encodeSegmentFrame(clip, next, bytes));
        r.payloadBytes += bytes.length;
        next++;
      }
    };
    const settled = () => {
      if (r.acked.length + r.refused.length === segments) {
        r.end = 'done';
        ws.close(1000);
      } else pump();
    };
    return new Promise((resolve) => {
      ws.on('message', (data, isBinary) => {
        if (isBinary) return;
        const m = JSON.parse((data as Buffer).toString('utf8')) as RelayMessage;
        if (m.t === 'hello') {
          // (a later hello only changes the window, as for the real uplink)
          window = Math.max(1, Math.min(this.o.window, m.window));
          if (!readyFrom) {
            readyFrom = performance.now() + (pace?.phaseMs ?? 0);
            ws.send(encodeControl({ t: 'begin', clip, epoch }));
          }
          pump();
        } else if (m.t === 'ack' && 'seg' in m && m.seg !== undefined && m.clip === clip) {
          const t = sentAt.get(m.seg);
          if (t === undefined) return;
          sentAt.delete(m.seg);
          r.lastAckAt = performance.now();
          r.acked.push(m.seg);
          r.latenciesMs.push(r.lastAckAt - t);
          this.o.onAck?.(clip, m.seg);
          settled();
        } else if (m.t === 'quota' && m.clip === clip && sentAt.has(m.seg)) {
          sentAt.delete(m.seg);
          r.refused.push(m.seg);
          this.o.onQuota?.(clip, m.seg, m.code);
          settled();
        } else if (m.t === 'error') {
          ws.terminate();
        }
      });
      ws.on('error', () => {}); // always followed by 'close'
      ws.on('close', () => {
        clearTimeout(timer);
        resolve(r);
      });
    });
  }
}
