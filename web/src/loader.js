// Loads a .glb (URL or ArrayBuffer) with three.js' GLTFLoader.
import { GLTFLoader } from "three/addons/loaders/GLTFLoader.js";

const loader = new GLTFLoader();

export async function loadGlb(source) {
  if (typeof source === "string") return loader.loadAsync(source);
  return new Promise((resolve, reject) => loader.parse(source, "", resolve, reject));
}

/** Extras recorded by `llavataros export` on the scene (fps, frames, audio file name). */
export function sceneExtras(gltf) {
  return gltf.scene.userData ?? {};
}
