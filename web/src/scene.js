// The lit stage: renderer, camera, orbit controls, lights, floor, and a render loop.
import * as THREE from "three";
import { OrbitControls } from "three/addons/controls/OrbitControls.js";

export function createStage(container) {
  const renderer = new THREE.WebGLRenderer({ antialias: true, preserveDrawingBuffer: true });
  renderer.setPixelRatio(Math.min(window.devicePixelRatio, 2));
  renderer.setSize(container.clientWidth, container.clientHeight);
  renderer.shadowMap.enabled = false;
  container.appendChild(renderer.domElement);

  const scene = new THREE.Scene();
  scene.background = new THREE.Color(0x2a2f38);
  const camera = new THREE.PerspectiveCamera(35, container.clientWidth / container.clientHeight, 0.05, 50);
  camera.position.set(0.5, 1.4, 2.0);
  const controls = new OrbitControls(camera, renderer.domElement);
  controls.target.set(0, 1.3, 0);
  controls.enableDamping = true;
  controls.update();

  scene.add(new THREE.HemisphereLight(0xdfe8ff, 0x40352c, 1.4));
  const key = new THREE.DirectionalLight(0xffffff, 2.2);
  key.position.set(1.5, 3.0, 2.5);
  scene.add(key);
  const rim = new THREE.DirectionalLight(0x9fb8ff, 0.9);
  rim.position.set(-2.0, 2.0, -2.0);
  scene.add(rim);

  const callbacks = [];
  const clock = new THREE.Clock();
  const stats = { frames: 0, started: performance.now() };
  function frame() {
    const dt = clock.getDelta();
    for (const callback of callbacks) callback(dt);
    controls.update();
    renderer.render(scene, camera);
    stats.frames += 1;
  }
  window.addEventListener("resize", () => {
    camera.aspect = container.clientWidth / container.clientHeight;
    camera.updateProjectionMatrix();
    renderer.setSize(container.clientWidth, container.clientHeight);
  });
  renderer.setAnimationLoop(frame);
  return {
    renderer,
    scene,
    camera,
    controls,
    stats,
    onFrame: (callback) => callbacks.push(callback),
    renderNow: frame,
  };
}
