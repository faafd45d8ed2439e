// Modes 1 and 2: the microphone, or an audio file at real-time pace, streamed to the server;
// the frames that come back drive the avatar. The avatar plays `hold` seconds behind the audio
// (the server's lookahead plus a margin) so frames have arrived by the time they are shown;
// a file's audio plays with the same delay, so sound and motion stay in sync.
import { decodeAudio, startMicrophone, streamAtPace } from "./capture.js";
import { LiveClient, serverUrl } from "./live.js";
import { Rig } from "./rig.js";
import { PushFrameSource } from "./sources.js";

const RATE = 16000;
const MARGIN_S = 0.3; // compute and network beyond the model's lookahead

/** A player driver over a live source (the player starts `hold` after the stream). */
class LiveDriver {
  constructor(rig, source, duration) {
    this.rig = rig;
    this.source = source;
    this.duration = duration;
  }

  setTime(time) {
    const frame = this.source.frameAt(time);
    if (frame) this.rig.applyFrame(frame);
  }
}

export class LiveMode {
  /** ui: { avatar() -> Promise<gltf>, show(root), player, setStatus(text), showLatency(text),
   * showWords(text), params } */
  constructor(ui) {
    this.ui = ui;
    this.client = null;
    this.stopInput = null;
    this.state = "idle";
  }

  get running() {
    return this.state === "connecting" || this.state === "streaming";
  }

  async _connect(label, options) {
    await this.stop();
    const gltf = await this.ui.avatar();
    this.ui.show(gltf.scene);
    const source = new PushFrameSource(1800);
    const client = new LiveClient(new WebSocket(serverUrl(window.location, this.ui.params)), source);
    this.client = client;
    this.state = "connecting";
    client.onUpdate((message) => this._update(message, label));
    await client.opened;
    client.start({ sampleRate: RATE, ...options });
    this.state = "streaming";
    return { client, rig: new Rig(gltf.scene), source };
  }

  /** Mode 1: the microphone. */
  async startMicrophone() {
    const { client, rig, source } = await this._connect("microphone", {});
    const microphone = await startMicrophone((chunk) => client.sendAudio(chunk), { rate: RATE });
    this.stopInput = () => microphone.stop();
    this.ui.player.load(new LiveDriver(rig, source, Infinity), null);
    this._playAfterHold(client);
  }

  /** Mode 2: an audio file (File or Blob), streamed at real-time pace and played in sync. */
  async streamFile(file, { speed = 1 } = {}) {
    const samples = await decodeAudio(await file.arrayBuffer(), RATE);
    const { client, rig, source } = await this._connect(file.name || "audio file", {});
    const audio = new Audio(URL.createObjectURL(file));
    this.ui.player.load(new LiveDriver(rig, source, samples.length / RATE), audio);
    const pace = streamAtPace(samples, RATE, (chunk) => client.sendAudio(chunk), { speed });
    this.stopInput = () => pace.stop();
    this._playAfterHold(client);
    if (await pace.done) client.end();
  }

  _playAfterHold(client) {
    const started = performance.now();
    const waitForReady = () => {
      if (!this.client || this.client !== client || client.error) return;
      if (!client.ready) return setTimeout(waitForReady, 20);
      const hold = (client.ready.lookahead_s ?? 0.5) + MARGIN_S;
      const wait = Math.max(0, hold * 1000 - (performance.now() - started));
      setTimeout(() => this.client === client && this.ui.player.play(), wait);
    };
    waitForReady();
  }

  async stop() {
    if (this.stopInput) await this.stopInput();
    this.stopInput = null;
    if (this.client) {
      this.client.end();
      this.client.close();
    }
    this.client = null;
    this.state = "idle";
  }

  _update(message, label) {
    const client = this.client;
    if (!client) return;
    if (message.type === "ready") {
      this.ui.setStatus(`${label} -> ${message.model}, speaker ${message.speaker}, ${message.fps} fps${message.face ? ", face" : ""}`);
    } else if (message.type === "frames") {
      const p50 = client.latency.quantile(0.5);
      const p95 = client.latency.quantile(0.95);
      const lookahead = client.ready ? client.ready.lookahead_s : 0;
      if (p50 !== null) {
        this.ui.showLatency(
          `latency ${ms(client.latency.last)} (p50 ${ms(p50)}, p95 ${ms(p95)}; lookahead ${ms(lookahead)}) · ${client.frames} frames`,
        );
      }
    } else if (message.type === "words") {
      this.ui.showWords(client.words.slice(-14).map((w) => w.word).join(" "));
    } else if (message.type === "error") {
      this.ui.setStatus(`Server error (${message.code}): ${message.message}`);
      this.state = "failed";
    } else if (message.type === "done") {
      this.ui.setStatus(`${label}: done, ${message.frames} frames`);
      this.state = "done";
    }
  }
}

function ms(seconds) {
  return `${Math.round(seconds * 1000)} ms`;
}
