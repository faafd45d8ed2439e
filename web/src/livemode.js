// Modes 1 and 2: the microphone, or an audio file at real-time pace, streamed to the server;
// the frames that come back drive the avatar. Playback starts once frames reach `hold` seconds
// ahead (the server's lookahead plus a margin) and pauses when it catches up with the newest
// frame; a file's audio is the player's clock, so sound and motion stay in sync.
import { decodeAudio, startMicrophone, streamAtPace } from "./capture.js";
import { LiveClient, serverUrl } from "./live.js";
import { Rig } from "./rig.js";
import { PushFrameSource } from "./sources.js";

const RATE = 16000;
const MARGIN_S = 0.3; // compute and network beyond the model's lookahead
const LOW_WATER_S = 0.2; // pause when the newest frame is this close ahead of the player

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
    this.buffering = 0; // times playback paused for late frames
    this.finished = false;
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
    this.buffering = 0;
    this.finished = false;
    client.onUpdate((message) => this._update(message, label));
    await client.opened;
    client.start({ sampleRate: RATE, ...options });
    this.state = "streaming";
    return { client, rig: new Rig(gltf.scene), source };
  }

  /** Mode 1: the microphone. Frames do not wait for live words (words_hold_s 0): someone
   * talking to the avatar sees it answer at the model's lookahead; the words still show. */
  async startMicrophone() {
    const { client, rig, source } = await this._connect("microphone", { wordsHoldS: 0 });
    const microphone = await startMicrophone((chunk) => client.sendAudio(chunk), { rate: RATE });
    this.stopInput = () => microphone.stop();
    this.ui.player.load(new LiveDriver(rig, source, Infinity), null);
    this._playAfterHold(client, source);
  }

  /** Mode 2: an audio file (File or Blob), streamed at real-time pace and played in sync.
   * No words hold either, so playback starts at once (a file's own words: `llavataros animate`). */
  async streamFile(file, { speed = 1 } = {}) {
    const samples = await decodeAudio(await file.arrayBuffer(), RATE);
    const { client, rig, source } = await this._connect(file.name || "audio file", { wordsHoldS: 0 });
    const audio = new Audio(URL.createObjectURL(file));
    this.ui.player.load(new LiveDriver(rig, source, samples.length / RATE), audio);
    const pace = streamAtPace(samples, RATE, (chunk) => client.sendAudio(chunk), { speed });
    this.stopInput = () => pace.stop();
    this._playAfterHold(client, source);
    if (await pace.done) client.end();
  }

  /** Play once the frames reach `hold` seconds ahead of the player; pause (buffer) when the
   * player comes within LOW_WATER_S of the newest frame, so audio and motion never drift apart. */
  _playAfterHold(client, source) {
    const timer = setInterval(() => {
      if (this.client !== client || client.error) return clearInterval(timer);
      if (!client.ready) return;
      const player = this.ui.player;
      const hold = client.ready.lookahead_s + MARGIN_S;
      const ahead = source.latestTime - player.time;
      if (client.done) {
        if (!player.playing && !this.finished) player.play();
        this.finished = true;
        return clearInterval(timer);
      }
      if (player.playing && ahead <= LOW_WATER_S) {
        player.pause();
        this.buffering += 1;
      } else if (!player.playing && ahead >= hold) {
        player.play();
      }
    }, 50);
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
