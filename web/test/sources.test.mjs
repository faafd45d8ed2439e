// node --test: frame sources interpolate, hold, bound and order frames (known answers).
import assert from "node:assert/strict";
import { test } from "node:test";
import { ArrayFrameSource, BODY_WIDTH, PushFrameSource } from "../src/sources.js";

function bodyFrame(x, angle) {
  const body = new Float32Array(BODY_WIDTH);
  for (let j = 0; j < 9; j += 1) {
    body.set([x, 1, 0, 0, Math.sin(angle / 2), 0, Math.cos(angle / 2)], j * 7);
  }
  return body;
}

test("ArrayFrameSource interpolates positions linearly and rotations on the short arc", () => {
  const body = new Float32Array([...bodyFrame(0, 0), ...bodyFrame(1, Math.PI / 2)]);
  const face = new Float32Array(104);
  face[52 + 17] = 1; // jawOpen in frame 1
  const source = new ArrayFrameSource(body, face, 10);
  assert.equal(source.duration, 0.1);
  const frame = source.frameAt(0.05);
  assert.ok(Math.abs(frame.body[0] - 0.5) < 1e-6);
  assert.ok(Math.abs(frame.face[17] - 0.5) < 1e-6);
  const angle = 2 * Math.atan2(frame.body[4], frame.body[6]);
  assert.ok(Math.abs(angle - Math.PI / 4) < 1e-3, `angle ${angle}`);
  assert.equal(source.frameAt(99).body[0], 1); // clamps at the end
});

test("ArrayFrameSource takes the short arc when the next quaternion has the other sign", () => {
  const b = bodyFrame(0, 0.2);
  for (let j = 0; j < 9; j += 1) for (let k = 3; k < 7; k += 1) b[j * 7 + k] *= -1;
  const source = new ArrayFrameSource(new Float32Array([...bodyFrame(0, 0), ...b]), null, 1);
  const frame = source.frameAt(0.5);
  const angle = 2 * Math.atan2(frame.body[4], frame.body[6]);
  assert.ok(Math.abs(angle - 0.1) < 1e-3, `angle ${angle}`);
  assert.equal(frame.face, null);
});

test("ArrayFrameSource rejects a face with another frame count", () => {
  assert.throws(() => new ArrayFrameSource(bodyFrame(0, 0), new Float32Array(104), 30), /face has 2 frames/);
});

test("PushFrameSource holds the newest frame, interpolates inside, bounds memory, keeps order", () => {
  const source = new PushFrameSource(3);
  assert.equal(source.frameAt(0), null);
  for (let k = 0; k < 5; k += 1) source.push(k * 0.1, bodyFrame(k, 0));
  assert.equal(source.frames.length, 3);
  assert.equal(source.frameAt(10).body[0], 4);
  assert.ok(Math.abs(source.frameAt(0.25).body[0] - 2.5) < 1e-5);
  assert.throws(() => source.push(0.2, bodyFrame(0, 0)), /time order/);
});
