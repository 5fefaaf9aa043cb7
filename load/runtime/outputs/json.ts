// k6's JSON output (--out json=FILE): a Metric line when a metric first appears, then one Point line per sample.
import fs from 'node:fs';
import path from 'node:path';
import type { Metric, SampleObserver, Tags } from '../metrics.ts';

export class JsonOutput implements SampleObserver {
  private readonly stream: fs.WriteStream;
  private readonly failed: Promise<never>;
  private readonly announced = new Set<string>();

  constructor(
    readonly file: string,
    /** Threshold expressions per metric name, for the Metric lines. */
    private readonly thresholds: ReadonlyMap<string, string[]>,
  ) {
    fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    this.stream = fs.createWriteStream(file, { flags: 'w' });
    this.failed = new Promise((_, reject) => {
      this.stream.once('error', (err) => reject(new Error(`cannot write --out json=${file}: ${err.message}; check that the path is writable`)));
    });
    this.failed.catch(() => undefined);
  }

  onSample(m: Metric, value: number, tags: Tags, time: number): void {
    if (!this.announced.has(m.name)) {
      this.announced.add(m.name);
      const data = { name: m.name, type: m.type, contains: m.contains, thresholds: this.thresholds.get(m.name) ?? [], submetrics: null };
      this.stream.write(`${JSON.stringify({ type: 'Metric', data, metric: m.name })}\n`);
    }
    this.stream.write(`${JSON.stringify({ type: 'Point', data: { time: new Date(time).toISOString(), value, tags }, metric: m.name })}\n`);
  }

  /** Flushes and closes the file; rejects if a write failed. */
  async close(): Promise<void> {
    const ended = new Promise<void>((resolve) => this.stream.end(resolve));
    await Promise.race([ended, this.failed]);
  }
}
