// Poses the glTF avatar from AvatarOS frames (global quaternions) and ARKit face weights.
import * as THREE from "three";
import { JOINTS } from "./sources.js";

export const JOINT_NAMES = [
  "Spine", "Spine1", "Spine2", "RightShoulder", "RightArm", "RightForeArm",
  "LeftShoulder", "LeftArm", "LeftForeArm",
];
export const PARENTS = [-1, 0, 1, 2, 3, 4, 2, 6, 7];

export class Rig {
  constructor(root) {
    this.nodes = JOINT_NAMES.map((name) => {
      const node = root.getObjectByName(name);
      if (!node) throw new Error(`the avatar has no joint ${name}`);
      return node;
    });
    this.faceMeshes = [];
    root.traverse((object) => {
      if (object.morphTargetDictionary && object.morphTargetInfluences) this.faceMeshes.push(object);
    });
    this.targetNames = this.faceMeshes.length
      ? Object.entries(this.faceMeshes[0].morphTargetDictionary).sort((a, b) => a[1] - b[1]).map((e) => e[0])
      : [];
    this._q = Array.from({ length: JOINTS }, () => new THREE.Quaternion());
    this._p = Array.from({ length: JOINTS }, () => new THREE.Vector3());
    this._inverse = new THREE.Quaternion();
  }

  /** Apply a frame { body: Float32Array(63), face: Float32Array(52) | null }. */
  applyFrame(frame) {
    const { body, face } = frame;
    for (let j = 0; j < JOINTS; j += 1) {
      const o = j * 7;
      this._p[j].set(body[o], body[o + 1], body[o + 2]);
      this._q[j].set(body[o + 3], body[o + 4], body[o + 5], body[o + 6]).normalize();
    }
    for (let j = 0; j < JOINTS; j += 1) {
      const node = this.nodes[j];
      const parent = PARENTS[j];
      if (parent < 0) {
        node.position.copy(this._p[j]);
        node.quaternion.copy(this._q[j]);
        continue;
      }
      this._inverse.copy(this._q[parent]).invert();
      node.position.copy(this._p[j]).sub(this._p[parent]).applyQuaternion(this._inverse);
      node.quaternion.copy(this._inverse).multiply(this._q[j]);
    }
    if (face) {
      for (const mesh of this.faceMeshes) {
        const influences = mesh.morphTargetInfluences;
        for (let k = 0; k < influences.length && k < face.length; k += 1) influences[k] = face[k];
      }
    }
  }
}
