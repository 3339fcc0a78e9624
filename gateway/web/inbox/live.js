// Live inbox events from GET /v1/events. EventSource cannot send an Authorization
// header, so the stream is read with fetch and parsed here (the SSE format: event,
// data, id and retry fields, comment lines, CR/LF/CRLF line ends). Each connection
// asks the portal for a fresh token; a dropped stream reconnects with backoff.

const MAX_DELAY = 60_000;

/** Parses an SSE byte stream into events; feed(text) as it arrives. */
export class SseParser {
  constructor(onEvent, onRetry = () => {}) {
    this.onEvent = onEvent;
    this.onRetry = onRetry;
    this.buffer = "";
    this.reset();
  }

  reset() {
    this.event = "";
    this.data = [];
    this.id = null;
  }

  feed(text) {
    this.buffer += text;
    for (;;) {
      const match = /\r\n|\r|\n/.exec(this.buffer);
      // A lone CR at the end may be the first half of a CRLF: wait for more.
      if (!match || (match[0] === "\r" && match.index === this.buffer.length - 1)) return;
      const line = this.buffer.slice(0, match.index);
      this.buffer = this.buffer.slice(match.index + match[0].length);
      this.line(line);
    }
  }

  line(line) {
    if (line === "") {
      if (this.data.length) {
        this.onEvent({event: this.event || "message", data: this.data.join("\n"), id: this.id});
      }
      this.reset();
      return;
    }
    if (line.startsWith(":")) return; // a comment: keepalive
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") this.event = value;
    else if (field === "data") this.data.push(value);
    else if (field === "id") this.id = value;
    else if (field === "retry" && /^\d+$/.test(value)) this.onRetry(Number(value));
  }
}

/**
 * connectLive({base, token, onEvent, onStatus}) → {stop()}.
 * onEvent gets the parsed JSON of each `inbox` event; after a reconnect it also gets
 * {type: "resync"} so views can catch up on what the gap may have missed.
 */
export function connectLive({base, token, onEvent, onStatus = () => {}}) {
  let stopped = false;
  let controller = null;
  let timer = null;
  let retry = 3000;
  let failures = 0;
  let connectedOnce = false;

  async function connect() {
    if (stopped) return;
    controller = new AbortController();
    let opened = false;
    try {
      const bearer = await token();
      const response = await fetch(`${base}/v1/events`, {
        headers: {authorization: `Bearer ${bearer}`, accept: "text/event-stream"},
        signal: controller.signal,
        cache: "no-store",
      });
      if (!response.ok || !response.body) throw new Error(`events: ${response.status}`);
      opened = true;
      failures = 0;
      const parser = new SseParser(
        (message) => {
          if (message.event !== "inbox") return;
          try {
            onEvent(JSON.parse(message.data));
          } catch {
            // Not JSON: not an event we know; ignore it.
          }
        },
        (ms) => { retry = ms; },
      );
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let first = true;
      for (;;) {
        const {value, done} = await reader.read();
        if (done || stopped) break;
        if (first) {
          // The server writes its first line after it subscribed: only from here on can
          // no event published for this reader be missed (the headers come earlier).
          first = false;
          onStatus("open");
          if (connectedOnce) onEvent({type: "resync"});
          connectedOnce = true;
        }
        parser.feed(value);
      }
    } catch (error) {
      if (stopped || error?.name === "AbortError") return;
    } finally {
      controller = null;
    }
    if (stopped) return;
    onStatus("closed");
    if (!opened) failures += 1;
    const backoff = Math.min(MAX_DELAY, retry * 2 ** Math.min(failures, 5));
    const delay = failures ? backoff * (0.5 + Math.random() / 2) : retry;
    timer = setTimeout(connect, delay);
  }

  connect();
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
      if (controller) controller.abort();
    },
  };
}
