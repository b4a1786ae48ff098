// Reads a text/event-stream with fetch, as a WHEP player's EventSource does (no
// Authorization header), keeping every event and comment it receives.
import { waitFor } from './server';

export interface SseEvent {
  event: string;
  data: string;
}

export class SseReader {
  readonly events: SseEvent[] = [];
  readonly comments: string[] = [];
  /** Whether the stream has ended (the server ended it, or the reader was aborted). */
  done = false;
  /** What broke the connection, when the server did not end it cleanly. */
  error: Error | undefined;
  private readonly controller: AbortController;

  private constructor(body: ReadableStream<Uint8Array>, controller: AbortController) {
    this.controller = controller;
    void this.read(body);
  }

  /** GETs `url`; throws unless it answers 200 with text/event-stream. */
  static async open(url: string): Promise<SseReader> {
    const controller = new AbortController();
    const res = await fetch(url, { headers: { Accept: 'text/event-stream' }, signal: controller.signal });
    if (res.status !== 200 || !(res.headers.get('content-type') ?? '').startsWith('text/event-stream') || res.body === null) {
      controller.abort();
      throw new Error(`event stream GET answered ${res.status} ${res.headers.get('content-type')}: ${await res.text().catch(() => '')}`);
    }
    return new SseReader(res.body, controller);
  }

  /** The events named `name`, in order. */
  named(name: string): SseEvent[] {
    return this.events.filter((e) => e.event === name);
  }

  /** Waits until an event after the first `after` ones satisfies `match`; returns it. */
  async next(what: string, match: (e: SseEvent) => boolean, after = 0, timeoutMs = 10_000): Promise<SseEvent> {
    return waitFor(what, () => this.events.slice(after).find(match), timeoutMs, 20);
  }

  /** Waits for the server to end the stream. */
  async waitEnded(timeoutMs = 10_000): Promise<void> {
    await waitFor('the event stream to end', () => this.done || undefined, timeoutMs, 20);
  }

  /** Drops the connection from the client's side, as a closed tab does. */
  abort(): void {
    this.controller.abort();
  }

  private async read(body: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    let buffer = '';
    const reader = body.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true }).replace(/\r\n?/g, '\n');
        let end: number;
        while ((end = buffer.indexOf('\n\n')) !== -1) {
          this.parse(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
        }
      }
    } catch (error) {
      // An abort is the client's own doing; anything else is kept for the test to see.
      if ((error as Error).name !== 'AbortError') this.error = error as Error;
    }
    this.done = true;
  }

  private parse(block: string): void {
    let event = 'message';
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) this.comments.push(line.slice(1).trim());
      else if (line.startsWith('event:')) event = line.slice(6).trim();
      else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
    }
    if (data.length > 0) this.events.push({ event, data: data.join('\n') });
  }
}
