// Test helper: Debian's chromium, headless, driven over the Chrome DevTools Protocol (the `ws` package, no puppeteer):
// open a page, evaluate an expression in it. The process group belongs to the caller's ProcessOwner.
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';
import type { ProcessOwner } from '../../stack/processes.ts';

const START_TIMEOUT_MS = 20_000;
const CALL_TIMEOUT_MS = 15_000;

/** The chromium on PATH, or a failure naming the fix: these tests are never skipped. */
export function requireChromium(): string {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const file = path.join(dir, 'chromium');
    try {
      fs.accessSync(file, fs.constants.X_OK);
      return file;
    } catch {
      // not in this folder
    }
  }
  throw new Error('chromium not found on PATH; run scripts/ensure-tools (it installs Debian\'s chromium package)');
}

interface CdpReply {
  id?: number;
  method?: string;
  params?: Record<string, unknown>;
  result?: Record<string, unknown>;
  error?: { message: string };
}

/** One page's DevTools connection: commands with a timeout each, and waiting for one event. */
export class CdpPage {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (r: Record<string, unknown>) => void; reject: (e: Error) => void }>();
  private readonly eventListeners = new Set<(method: string) => void>();

  private constructor(private readonly socket: WebSocket) {
    socket.on('message', (data: WebSocket.RawData) => {
      const msg = JSON.parse(data.toString()) as CdpReply;
      if (msg.id !== undefined) {
        const w = this.waiting.get(msg.id);
        this.waiting.delete(msg.id);
        if (msg.error) w?.reject(new Error(`chromium: ${msg.error.message}`));
        else w?.resolve(msg.result ?? {});
      } else if (msg.method) {
        for (const l of this.eventListeners) l(msg.method);
      }
    });
    socket.on('close', () => {
      for (const w of this.waiting.values()) w.reject(new Error('chromium closed the DevTools connection'));
      this.waiting.clear();
    });
  }

  static async connect(url: string): Promise<CdpPage> {
    const socket = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', (err) => reject(new Error(`cannot connect to chromium's DevTools at ${url}: ${err.message}`)));
    });
    return new CdpPage(socket);
  }

  send(method: string, params: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(`chromium did not answer ${method} within ${CALL_TIMEOUT_MS} ms`));
      }, CALL_TIMEOUT_MS);
      this.waiting.set(id, {
        resolve: (r) => (clearTimeout(timer), resolve(r)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
      this.socket.send(JSON.stringify({ id, method, params }));
    });
  }

  private nextEvent(method: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => (this.eventListeners.delete(listener), reject(new Error(`no ${method} from chromium within ${CALL_TIMEOUT_MS} ms`))), CALL_TIMEOUT_MS);
      const listener = (m: string): void => {
        if (m !== method) return;
        clearTimeout(timer);
        this.eventListeners.delete(listener);
        resolve();
      };
      this.eventListeners.add(listener);
    });
  }

  /** Loads url and resolves once its load event fired (every inline SVG is laid out by then). */
  async open(url: string): Promise<void> {
    await this.send('Page.enable');
    const loaded = this.nextEvent('Page.loadEventFired');
    const nav = await this.send('Page.navigate', { url });
    if (typeof nav.errorText === 'string') throw new Error(`chromium could not open ${url}: ${nav.errorText}`);
    await loaded;
  }

  /** The value of a JavaScript expression in the page (JSON-serialisable), or its exception as an error. */
  async evaluate<T>(expression: string): Promise<T> {
    const r = (await this.send('Runtime.evaluate', { expression, returnByValue: true, awaitPromise: true })) as {
      result?: { value?: unknown };
      exceptionDetails?: { text: string; exception?: { description?: string } };
    };
    if (r.exceptionDetails) throw new Error(`in the page: ${r.exceptionDetails.exception?.description ?? r.exceptionDetails.text}`);
    return r.result?.value as T;
  }

  close(): void {
    this.socket.close();
  }
}

/**
 * Starts headless chromium with a fresh profile in a temp dir of owner (its whole process group stops with
 * owner.stopAll(), also when the test fails) and connects to its first page.
 */
export async function startChromium(owner: ProcessOwner): Promise<CdpPage> {
  const command = requireChromium();
  const profile = owner.tempDir('chromium-profile');
  const proc = owner.spawn({
    name: 'chromium',
    command,
    args: [
      '--headless=new',
      '--no-sandbox',
      '--disable-gpu',
      '--remote-debugging-port=0',
      `--user-data-dir=${profile}`,
      '--no-first-run',
      '--no-default-browser-check',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-extensions',
      'about:blank',
    ],
  });
  // Chromium writes the port it chose, then the browser's DevTools path, once it listens.
  const portFile = path.join(profile, 'DevToolsActivePort');
  const deadline = Date.now() + START_TIMEOUT_MS;
  let port: number | undefined;
  while (port === undefined) {
    if (!proc.running) throw new Error(`chromium exited (code ${proc.exitCode}) before listening for DevTools:\n${proc.tail()}`);
    if (Date.now() > deadline) throw new Error(`chromium wrote no ${portFile} within ${START_TIMEOUT_MS} ms:\n${proc.tail()}`);
    const lines = fs.existsSync(portFile) ? fs.readFileSync(portFile, 'utf8').split('\n') : [];
    if (lines.length >= 2 && /^\d+$/.test(lines[0]!)) port = Number(lines[0]);
    else await sleep(50);
  }
  const targets = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as { type: string; webSocketDebuggerUrl: string }[];
  const page = targets.find((t) => t.type === 'page');
  if (!page) throw new Error(`chromium on port ${port} lists no page target (${targets.map((t) => t.type).join(', ') || 'none'})`);
  return CdpPage.connect(page.webSocketDebuggerUrl);
}
