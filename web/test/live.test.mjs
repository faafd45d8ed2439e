// node --test: the live protocol client against a fake socket (known answers).
import assert from "node:assert/strict";
import { test } from "node:test";
import { LiveClient, SendClock, serverUrl, toPcm16 } from "../src/live.js";
import { BODY_WIDTH, PushFrameSource } from "../src/sources.js";

class FakeSocket {
  constructor() {
    this.sent = [];
  }
  send(data) {
    this.sent.push(data);
  }
  close() {
    this.onclose?.();
  }
  receive(message) {
    this.onmessage({ data: JSON.stringify(message) });
  }
}

test("PCM16 scales, rounds and clips", () => {
  assert.deepEqual(Array.from(toPcm16([0, 1, -1, 0.5, 2, -2])), [0, 32767, -32768, 16384, 32767, -32768]);
});

test("the server URL is the page's own host at /ws unless ?ws= says otherwise", () => {
  assert.equal(serverUrl({ protocol: "http:", host: "h:8765" }, new URLSearchParams()), "ws://h:8765/ws");
  assert.equal(serverUrl({ protocol: "https:", host: "h" }, new URLSearchParams()), "wss://h/ws");
  assert.equal(serverUrl({ protocol: "http:", host: "h" }, new URLSearchParams("ws=ws://x:1/ws")), "ws://x:1/ws");
});

test("SendClock answers when the audio at a time went out", () => {
  const clock = new SendClock(10);
  clock.sent(10, 1000); // samples 0-10 (0-1 s) at 1000 ms
  clock.sent(10, 2000); // 1-2 s at 2000 ms
  assert.equal(clock.wallAt(0.5), 1000);
  assert.equal(clock.wallAt(1.0), 1000);
  assert.equal(clock.wallAt(1.5), 2000);
  assert.equal(clock.wallAt(2.5), null);
});

test("LiveClient sends start and PCM16, pushes frames with their times and measures latency", () => {
  let now = 0;
  const socket = new FakeSocket();
  const source = new PushFrameSource();
  const client = new LiveClient(socket, source, () => now);
  client.start({ sampleRate: 10 });
  assert.deepEqual(JSON.parse(socket.sent[0]), {
    type: "start", version: 1, sample_rate: 10, speaker: null, transcript: null,
  });
  now = 1000;
  client.sendAudio(new Float32Array(10)); // 0-1 s of audio sent at 1.0 s
  assert.equal(socket.sent[1].byteLength, 20);
  now = 1600;
  socket.receive({ type: "ready", version: 1, fps: 2, lookahead_s: 0.5 });
  const pose = Array.from({ length: 9 }, () => [0, 1, 0, 0, 0, 0, 1]);
  socket.receive({ type: "frames", first: 1, fps: 2, body: [pose, pose], face: null });
  assert.equal(client.frames, 2);
  assert.equal(source.frames.length, 2);
  assert.equal(source.frames[0].time, 0.5);
  assert.equal(source.frames[1].body.length, BODY_WIDTH);
  assert.equal(client.latency.last, 0.6); // frame at 1.0 s: audio sent at 1000 ms, here at 1600
  socket.receive({ type: "words", words: [{ word: "hi", start: 0.1, end: 0.3 }] });
  socket.receive({ type: "done", frames: 3 });
  assert.deepEqual(client.words.map((w) => w.word), ["hi"]);
  client.end(); // after done, nothing more is sent
  assert.equal(socket.sent.length, 2);
});
