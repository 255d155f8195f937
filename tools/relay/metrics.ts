/**
 * The operator's figures, served as Prometheus text (exposition format 0.0.4)
 * at GET /metrics: connected doorbells, segments and bytes in, the time from
 * a segment's arrival to its acknowledgement, group-commit batch sizes, and
 * refusals by reason. Counts and timings only: no ids, no contents.
 */
import type { BatchReport } from './group-commit.js';

class Histogram {
  private readonly counts: number[];
  private sum = 0;
  private count = 0;

  constructor(readonly bounds: number[]) {
    this.counts = bounds.map(() => 0);
  }

  observe(v: number): void {
    this.sum += v;
    this.count++;
    for (let i = 0; i < this.bounds.length; i++) if (v <= this.bounds[i]) this.counts[i]++;
  }

  render(name: string, help: string): string[] {
    const lines = [`# HELP ${name} ${help}`, `# TYPE ${name} histogram`];
    this.bounds.forEach((b, i) => lines.push(`${name}_bucket{le="${b}"} ${this.counts[i]}`));
    lines.push(`${name}_bucket{le="+Inf"} ${this.count}`, `${name}_sum ${+this.sum.toFixed(6)}`, `${name}_count ${this.count}`);
    return lines;
  }
}

/** Prometheus label values: reasons are our own codes and HTTP statuses, escaped anyway. */
const label = (v: string) => v.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`));

export class RelayMetrics {
  private segmentsIn = 0;
  private bytesIn = 0;
  private readonly ackSeconds = new Histogram([0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]);
  private readonly batchSegments = new Histogram([1, 2, 4, 8, 16, 32, 64, 128, 256, 512]);
  private readonly batchSeconds = new Histogram([0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5]);
  private readonly refusals = new Map<string, number>();
  /** by reason: `owner` (a signed deletion) or `retention` (an expiry) */
  private readonly clipsDeleted = new Map<string, number>();
  private readonly bytesDeleted = new Map<string, number>();

  /** `connectedDevices` is read at each scrape. */
  constructor(private readonly connectedDevices: () => number) {}

  segmentStored(bytes: number): void {
    this.segmentsIn++;
    this.bytesIn += bytes;
  }

  /** ms from the segment's arrival to its acknowledgement */
  acknowledged(ms: number): void {
    this.ackSeconds.observe(ms / 1000);
  }

  batch(b: BatchReport): void {
    this.batchSegments.observe(b.segments);
    this.batchSeconds.observe(b.ms / 1000);
  }

  /** A refusal: an uplink error code, or `http_<status>` for an HTTP answer of 4xx/5xx. */
  refused(reason: string): void {
    this.refusals.set(reason, (this.refusals.get(reason) ?? 0) + 1);
  }

  /** Clips deleted (and the ciphertext bytes they held): `owner` or `retention`. */
  deleted(reason: 'owner' | 'retention', clips: number, bytes: number): void {
    this.clipsDeleted.set(reason, (this.clipsDeleted.get(reason) ?? 0) + clips);
    this.bytesDeleted.set(reason, (this.bytesDeleted.get(reason) ?? 0) + bytes);
  }

  render(): string {
    const byReason = (m: Map<string, number>, name: string) =>
      (['owner', 'retention'] as const).map((r) => `${name}{reason="${r}"} ${m.get(r) ?? 0}`);
    const lines = [
      '# HELP sealbell_relay_connected_doorbells Doorbells connected to the uplink now.',
      '# TYPE sealbell_relay_connected_doorbells gauge',
      `sealbell_relay_connected_doorbells ${this.connectedDevices()}`,
      '# HELP sealbell_relay_segments_stored_total Segments stored (repeats not counted).',
      '# TYPE sealbell_relay_segments_stored_total counter',
      `sealbell_relay_segments_stored_total ${this.segmentsIn}`,
      '# HELP sealbell_relay_segment_bytes_stored_total Ciphertext bytes stored in segments.',
      '# TYPE sealbell_relay_segment_bytes_stored_total counter',
      `sealbell_relay_segment_bytes_stored_total ${this.bytesIn}`,
      ...this.ackSeconds.render('sealbell_relay_ack_latency_seconds', "From a segment's arrival to its acknowledgement (it is durable then)."),
      ...this.batchSegments.render('sealbell_relay_fsync_batch_segments', 'Segments made durable by one group commit (one flush, one transaction).'),
      ...this.batchSeconds.render('sealbell_relay_fsync_batch_seconds', "From a batch's start to its commit."),
      '# HELP sealbell_relay_refusals_total Requests and messages refused, by reason.',
      '# TYPE sealbell_relay_refusals_total counter',
      ...[...this.refusals].sort(([a], [b]) => a.localeCompare(b)).map(([r, n]) => `sealbell_relay_refusals_total{reason="${label(r)}"} ${n}`),
      '# HELP sealbell_relay_clips_deleted_total Clips deleted: by the owner\'s signed request, or expired under the owner\'s retention.',
      '# TYPE sealbell_relay_clips_deleted_total counter',
      ...byReason(this.clipsDeleted, 'sealbell_relay_clips_deleted_total'),
      '# HELP sealbell_relay_bytes_deleted_total Ciphertext bytes those clips held.',
      '# TYPE sealbell_relay_bytes_deleted_total counter',
      ...byReason(this.bytesDeleted, 'sealbell_relay_bytes_deleted_total'),
    ];
    return lines.join('\n') + '\n';
  }
}
