// Frame sources: anything that answers "which avatar frame at time t?".
//
// A frame is { time, body, face }: body is a Float32Array(63) of the 9 AvatarOS joints, each
// [px, py, pz, qx, qy, qz, qw] (global quaternions, metres), face a Float32Array(52) of ARKit
// weights or null. A source has `duration` (seconds, Infinity while live) and `frameAt(time)`
// (null when it has nothing yet). The player and the rig know only this interface, so the
// live mode adds a source fed by the server (PushFrameSource below) without touching them.
// This module does not depend on three.js (node --test runs it).

export const JOINTS = 9;
export const BODY_WIDTH = JOINTS * 7;
export const FACE_WIDTH = 52;

function blendBody(a, b, t, out) {
  for (let j = 0; j < JOINTS; j += 1) {
    const o = j * 7;
    for (let k = 0; k < 3; k += 1) out[o + k] = a[o + k] + (b[o + k] - a[o + k]) * t;
    let dot = 0;
    for (let k = 3; k < 7; k += 1) dot += a[o + k] * b[o + k];
    const sign = dot < 0 ? -1 : 1;
    let norm = 0;
    for (let k = 3; k < 7; k += 1) {
      out[o + k] = a[o + k] * (1 - t) + sign * b[o + k] * t;
      norm += out[o + k] * out[o + k];
    }
    norm = Math.sqrt(norm) || 1;
    for (let k = 3; k < 7; k += 1) out[o + k] /= norm;
  }
  return out;
}

function blendFace(a, b, t, out) {
  for (let k = 0; k < FACE_WIDTH; k += 1) out[k] = a[k] + (b[k] - a[k]) * t;
  return out;
}

/** Frames held in arrays (an `animate` output: NAME.npy and NAME.face.npy), interpolated. */
export class ArrayFrameSource {
  constructor(body, face, fps) {
    if (body.length % BODY_WIDTH !== 0) throw new Error("body frames must be (T, 9, 7)");
    this.count = body.length / BODY_WIDTH;
    if (face && face.length !== this.count * FACE_WIDTH) {
      throw new Error(`face has ${face.length / FACE_WIDTH} frames, body has ${this.count}`);
    }
    this.body = body;
    this.face = face ?? null;
    this.fps = fps;
    this.duration = (this.count - 1) / fps;
  }

  frameAt(time) {
    const position = Math.min(Math.max(time * this.fps, 0), this.count - 1);
    const i = Math.floor(position);
    const j = Math.min(i + 1, this.count - 1);
    const t = position - i;
    const body = blendBody(
      this.body.subarray(i * BODY_WIDTH, (i + 1) * BODY_WIDTH),
      this.body.subarray(j * BODY_WIDTH, (j + 1) * BODY_WIDTH),
      t,
      new Float32Array(BODY_WIDTH),
    );
    const face = this.face
      ? blendFace(
          this.face.subarray(i * FACE_WIDTH, (i + 1) * FACE_WIDTH),
          this.face.subarray(j * FACE_WIDTH, (j + 1) * FACE_WIDTH),
          t,
          new Float32Array(FACE_WIDTH),
        )
      : null;
    return { time: position / this.fps, body, face };
  }
}

/** Frames pushed as they arrive (the live mode's hook): a bounded buffer ordered by time;
 * frameAt(t) interpolates between the frames around t, or holds the newest one. */
export class PushFrameSource {
  constructor(capacity = 600) {
    this.capacity = capacity;
    this.frames = [];
    this.duration = Infinity;
  }

  push(time, body, face = null) {
    if (body.length !== BODY_WIDTH) throw new Error(`a body frame has ${BODY_WIDTH} numbers`);
    const last = this.frames[this.frames.length - 1];
    if (last && time <= last.time) throw new Error("frames must arrive in time order");
    this.frames.push({ time, body: Float32Array.from(body), face: face && Float32Array.from(face) });
    if (this.frames.length > this.capacity) this.frames.splice(0, this.frames.length - this.capacity);
  }

  get latestTime() {
    return this.frames.length ? this.frames[this.frames.length - 1].time : -Infinity;
  }

  frameAt(time) {
    const frames = this.frames;
    if (!frames.length) return null;
    if (time <= frames[0].time) return frames[0];
    const last = frames[frames.length - 1];
    if (time >= last.time) return last;
    let lo = 0;
    let hi = frames.length - 1;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (frames[mid].time <= time) lo = mid;
      else hi = mid;
    }
    const a = frames[lo];
    const b = frames[hi];
    const t = (time - a.time) / (b.time - a.time);
    const body = blendBody(a.body, b.body, t, new Float32Array(BODY_WIDTH));
    const face = a.face && b.face ? blendFace(a.face, b.face, t, new Float32Array(FACE_WIDTH)) : a.face;
    return { time, body, face };
  }
}
