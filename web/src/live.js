// The live protocol client (version 1, docs/PROTOCOL.md): sends start, PCM16 audio and end;
// receives ready, frames, words, error and done. Frames go into a PushFrameSource; each
// frame's latency is its arrival time minus the wall time the audio at its time was sent.
// This module does not depend on three.js or the DOM (node --test runs it with a fake socket).

export const PROTOCOL_VERSION = 1;

/** ws://HOST/ws of the page's own server (wss on https), or the ?ws= URL parameter. */
export function serverUrl(location, params) {
  if (params && params.get("ws")) return params.get("ws");
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}/ws`;
}

/** Float samples in [-1, 1] -> PCM16 little-endian bytes. */
export function toPcm16(samples) {
  const out = new Int16Array(samples.length);
  for (let i = 0; i < samples.length; i += 1) {
    const s = Math.max(-1, Math.min(1, samples[i]));
    out[i] = s < 0 ? Math.round(s * 32768) : Math.round(s * 32767);
  }
  return out;
}

/** Send times of audio: which wall time (ms) the sample at a stream time went out. */
export class SendClock {
  constructor(sampleRate) {
    this.sampleRate = sampleRate;
    this.ends = []; // [samples sent so far, wall ms] per chunk, in order
    this.samples = 0;
  }

  sent(count, wallMs) {
    this.samples += count;
    this.ends.push([this.samples, wallMs]);
  }

  /** Wall ms when the sample at `seconds` was sent (null if not yet). */
  wallAt(seconds) {
    const sample = seconds * this.sampleRate;
    const ends = this.ends;
    if (!ends.length || sample > ends[ends.length - 1][0]) return null;
    let lo = 0;
    let hi = ends.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (ends[mid][0] >= sample) hi = mid;
      else lo = mid + 1;
    }
    return ends[lo][1];
  }
}

/** Latency figures over the last `keep` frames (seconds). */
export class LatencyMeter {
  constructor(keep = 300) {
    this.keep = keep;
    this.values = [];
    this.last = null;
  }

  add(seconds) {
    this.last = seconds;
    this.values.push(seconds);
    if (this.values.length > this.keep) this.values.shift();
  }

  quantile(q) {
    if (!this.values.length) return null;
    const sorted = [...this.values].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  }
}

export class LiveClient {
  /**
   * @param socket a WebSocket-like object (send, close, onopen/onmessage/onclose/onerror)
   * @param source a PushFrameSource the frames go to
   * @param now () => wall ms (performance.now in the page)
   */
  constructor(socket, source, now = () => performance.now()) {
    this.socket = socket;
    this.socket.binaryType = "arraybuffer";
    this.source = source;
    this.now = now;
    this.ready = null; // the server's ready message
    this.frames = 0;
    this.words = [];
    this.error = null;
    this.done = null;
    this.latency = new LatencyMeter();
    this.clock = null;
    this.listeners = [];
    this.opened = new Promise((resolve, reject) => {
      socket.onopen = () => resolve();
      socket.onerror = () => reject(new Error("cannot reach the live server"));
    });
    this.closed = new Promise((resolve) => {
      socket.onclose = () => resolve();
    });
    socket.onmessage = (event) => this._receive(event.data);
  }

  /** Send the start message; audio may follow at once (the server answers ready). */
  start({ sampleRate = 16000, speaker = null, transcript = null, liveWords = null, wordsHoldS = null } = {}) {
    this.clock = new SendClock(sampleRate);
    const message = { type: "start", version: PROTOCOL_VERSION, sample_rate: sampleRate, speaker, transcript };
    if (liveWords !== null) message.live_words = liveWords;
    if (wordsHoldS !== null) message.words_hold_s = wordsHoldS;
    this.socket.send(JSON.stringify(message));
  }

  /** Send float samples at the start's rate as one PCM16 chunk. */
  sendAudio(samples) {
    if (this.error || this.done || !this.clock) return;
    const pcm = toPcm16(samples);
    this.socket.send(pcm.buffer);
    this.clock.sent(pcm.length, this.now());
  }

  end() {
    if (!this.error && !this.done) this.socket.send(JSON.stringify({ type: "end" }));
  }

  close() {
    this.socket.close();
  }

  onUpdate(listener) {
    this.listeners.push(listener);
  }

  _receive(data) {
    if (typeof data !== "string") return; // the server sends text only
    const message = JSON.parse(data);
    const arrived = this.now();
    if (message.type === "ready") this.ready = message;
    else if (message.type === "frames") this._frames(message, arrived);
    else if (message.type === "words") this.words.push(...message.words);
    else if (message.type === "error") this.error = message;
    else if (message.type === "done") this.done = message;
    for (const listener of this.listeners) listener(message, this);
  }

  _frames(message, arrived) {
    const { first, fps, body, face } = message;
    for (let k = 0; k < body.length; k += 1) {
      const time = (first + k) / fps;
      this.source.push(time, body[k].flat(), face ? face[k] : null);
      const sentAt = this.clock && this.clock.wallAt(time);
      if (sentAt !== null && sentAt !== undefined) this.latency.add((arrived - sentAt) / 1000);
    }
    this.frames += body.length;
  }
}
