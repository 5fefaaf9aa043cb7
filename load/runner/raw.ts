// Raw per-request timings as NDJSON, one {t, flow, name, status, durationMs, ok} per line: the threshold tuner's ground truth.
import fs from 'node:fs';
import path from 'node:path';
import type { LoadSink, RequestRecord } from './metrics.ts';

export class RawTimingsWriter implements LoadSink {
  private readonly stream: fs.WriteStream;
  private readonly failed: Promise<never>;
  lines = 0;

  constructor(readonly file: string) {
    fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    this.stream = fs.createWriteStream(file, { flags: 'w' });
    this.failed = new Promise((_, reject) => {
      this.stream.once('error', (err) => reject(new Error(`cannot write raw timings to ${file}: ${err.message}; check the path is writable`)));
    });
    this.failed.catch(() => undefined);
  }

  onRequest(r: RequestRecord): void {
    this.lines++;
    const line = { t: r.t, flow: r.flow, name: r.name, status: r.status, durationMs: Math.round(r.durationMs * 1000) / 1000, ok: r.ok };
    this.stream.write(`${JSON.stringify(line)}\n`);
  }

  /** Flushes and closes the file; rejects if any write failed. */
  async close(): Promise<void> {
    const ended = new Promise<void>((resolve) => this.stream.end(resolve));
    await Promise.race([ended, this.failed]);
  }
}
