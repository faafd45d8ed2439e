// Audio in: the microphone as float chunks (an AudioWorklet posts each 128-sample block; we
// gather them into chunks of `chunkMs`), and an audio file decoded to mono at a given rate.

const WORKLET = `
class Tap extends AudioWorkletProcessor {
  process(inputs) {
    const channel = inputs[0] && inputs[0][0];
    if (channel) this.port.postMessage(channel.slice(0));
    return true;
  }
}
registerProcessor("llavataros-tap", Tap);
`;

/** Start the microphone; `onChunk(Float32Array)` gets ~chunkMs of mono audio at `rate`.
 * Returns { rate, stop() }. */
export async function startMicrophone(onChunk, { rate = 16000, chunkMs = 100 } = {}) {
  const stream = await navigator.mediaDevices.getUserMedia({
    audio: { channelCount: 1, echoCancellation: false, noiseSuppression: false, autoGainControl: false },
  });
  const context = new AudioContext({ sampleRate: rate });
  const url = URL.createObjectURL(new Blob([WORKLET], { type: "text/javascript" }));
  await context.audioWorklet.addModule(url);
  URL.revokeObjectURL(url);
  const input = context.createMediaStreamSource(stream);
  const tap = new AudioWorkletNode(context, "llavataros-tap");
  const size = Math.round((context.sampleRate * chunkMs) / 1000);
  let pending = new Float32Array(size);
  let filled = 0;
  tap.port.onmessage = (event) => {
    const block = event.data;
    let offset = 0;
    while (offset < block.length) {
      const take = Math.min(size - filled, block.length - offset);
      pending.set(block.subarray(offset, offset + take), filled);
      filled += take;
      offset += take;
      if (filled === size) {
        onChunk(pending);
        pending = new Float32Array(size);
        filled = 0;
      }
    }
  };
  input.connect(tap);
  if (context.state === "suspended") await context.resume();
  return {
    rate: context.sampleRate,
    stop: async () => {
      input.disconnect();
      tap.port.onmessage = null;
      for (const track of stream.getTracks()) track.stop();
      await context.close();
    },
  };
}

/** Decode an audio file (ArrayBuffer) to mono Float32Array at `rate`. */
export async function decodeAudio(buffer, rate = 16000) {
  const probe = new OfflineAudioContext(1, 1, rate);
  const decoded = await probe.decodeAudioData(buffer);
  const frames = Math.max(1, Math.ceil(decoded.duration * rate));
  const context = new OfflineAudioContext(1, frames, rate); // down-mixes and resamples
  const node = context.createBufferSource();
  node.buffer = decoded;
  node.connect(context.destination);
  node.start();
  const rendered = await context.startRendering();
  return rendered.getChannelData(0);
}

/** Call `send(chunk)` with `chunkSeconds` of `samples` at real-time pace (times `speed`);
 * resolves when everything is sent. Returns { done: Promise, stop() }. */
export function streamAtPace(samples, rate, send, { chunkSeconds = 0.1, speed = 1 } = {}) {
  const size = Math.round(rate * chunkSeconds);
  const started = performance.now();
  let index = 0;
  let timer = null;
  let stopped = false;
  const done = new Promise((resolve) => {
    function tick() {
      if (stopped) return resolve(false);
      const elapsed = ((performance.now() - started) / 1000) * speed * rate;
      // a chunk goes out once its audio has "happened", as from a microphone
      while (index < samples.length && Math.min(index + size, samples.length) <= elapsed) {
        send(samples.subarray(index, Math.min(index + size, samples.length)));
        index += size;
      }
      if (index >= samples.length) return resolve(true);
      timer = setTimeout(tick, (chunkSeconds * 1000) / speed / 4);
    }
    tick();
  });
  return {
    done,
    stop: () => {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
