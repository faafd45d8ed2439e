// The viewer page: a lit stage, a player, and three modes: (1) the microphone streamed to the
// live server, (2) an audio file streamed to it, (3) a .glb or an animate output played here.
// URL parameters (for links and tests): ?src=FILE.glb or ?src=NAME.npy[&face=NAME.face.npy]
// [&audio=NAME.wav][&fps=60], &t=SECONDS to start there, &paused=1 to stay paused;
// &ws=ws://HOST:PORT/ws for a live server other than the page's own.
import { createStage } from "./scene.js";
import { loadGlb, sceneExtras } from "./loader.js";
import { ClipDriver, Player, SourceDriver } from "./player.js";
import { Rig } from "./rig.js";
import { ArrayFrameSource } from "./sources.js";
import { parseNpy } from "./npy.js";
import { LiveMode } from "./livemode.js";

const COMMON_RATES = [24, 25, 30, 48, 50, 60, 90, 100, 120];
const stage = createStage(document.getElementById("stage"));
const player = new Player();
const statusLine = document.getElementById("status");
const seekBar = document.getElementById("seek");
const timeLabel = document.getElementById("time");
const playButton = document.getElementById("play");
let current = null; // the avatar root in the scene
const latencyLine = document.getElementById("latency");
const wordsLine = document.getElementById("words");
const live = new LiveMode({
  avatar: () => bareAvatar(),
  show: (root) => show(root),
  player,
  setStatus: (text) => setStatus(text),
  showLatency: (text) => (latencyLine.textContent = text),
  showWords: (text) => (wordsLine.textContent = text),
  params: new URLSearchParams(window.location.search),
});

stage.onFrame((dt) => player.update(dt));
player.onChange(() => {
  timeLabel.textContent = `${player.time.toFixed(2)} s`;
  seekBar.max = String(player.duration || 1);
  seekBar.value = String(player.time);
  playButton.textContent = player.playing ? "Pause" : "Play";
});
seekBar.addEventListener("input", () => player.seek(Number(seekBar.value)));
playButton.addEventListener("click", () => (player.playing ? player.pause() : player.play()));

function show(root) {
  if (current) stage.scene.remove(current);
  current = root;
  stage.scene.add(root);
}

function setStatus(text) {
  statusLine.textContent = text;
}

function audioFrom(source) {
  if (!source) return null;
  const audio = new Audio();
  audio.src = source instanceof Blob ? URL.createObjectURL(source) : source;
  audio.preload = "auto";
  return audio;
}

/** Mode 3a: a .glb from `llavataros export` (its own clip; audio named in scene extras). */
async function playGlb(source, label, baseUrl = null, audioFile = null) {
  await live.stop();
  const gltf = await loadGlb(source);
  show(gltf.scene);
  const extras = sceneExtras(gltf);
  const clip = gltf.animations[0];
  if (!clip) {
    setStatus(`${label}: no animation (bind pose)`);
    return;
  }
  let audio = audioFrom(audioFile);
  if (!audio && extras.audio && baseUrl) audio = audioFrom(new URL(extras.audio, baseUrl).href);
  player.load(new ClipDriver(gltf.scene, clip), audio);
  setStatus(`${label}: ${clip.duration.toFixed(2)} s, ${clip.tracks.length} tracks${audio ? ", audio" : ""}`);
}

let avatarPromise = null;
function bareAvatar() {
  avatarPromise ??= loadGlb(new URL("./avatar.glb", document.baseURI).href);
  return avatarPromise;
}

async function audioDuration(audio) {
  if (!audio) return null;
  if (Number.isFinite(audio.duration)) return audio.duration;
  await new Promise((resolve) => {
    audio.addEventListener("loadedmetadata", resolve, { once: true });
    audio.addEventListener("error", resolve, { once: true });
  });
  return Number.isFinite(audio.duration) ? audio.duration : null;
}

/** Mode 3b: an `animate` output (NAME.npy, NAME.face.npy, audio) on the bare avatar. */
async function playArrays({ body, face, audio, fps, label }) {
  const gltf = await bareAvatar();
  show(gltf.scene);
  const bodyArray = parseNpy(body);
  if (bodyArray.shape.length !== 3 || bodyArray.shape[1] !== 9 || bodyArray.shape[2] !== 7) {
    throw new Error(`${label}: expected (T, 9, 7), got (${bodyArray.shape})`);
  }
  const faceArray = face ? parseNpy(face) : null;
  const frames = bodyArray.shape[0];
  let rate = fps;
  let how = "given";
  if (!rate) {
    const seconds = await audioDuration(audio);
    if (seconds) {
      const estimate = frames / seconds;
      rate = COMMON_RATES.reduce((a, b) => (Math.abs(b - estimate) < Math.abs(a - estimate) ? b : a));
      how = "from the audio";
    } else {
      rate = 60;
      how = "assumed (no audio, no ?fps=)";
    }
  }
  const source = new ArrayFrameSource(bodyArray.data, faceArray && faceArray.data, rate);
  player.load(new SourceDriver(new Rig(gltf.scene), source), audio);
  setStatus(`${label}: ${frames} frames at ${rate} fps (${how})${faceArray ? ", face" : ""}${audio ? ", audio" : ""}`);
}

async function fetchBuffer(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response.arrayBuffer();
}

async function openFiles(fileList) {
  const files = Array.from(fileList);
  const glb = files.find((f) => f.name.endsWith(".glb"));
  const audioFile = files.find((f) => /\.(wav|mp3|ogg|flac|m4a)$/i.test(f.name));
  if (glb) return playGlb(await glb.arrayBuffer(), glb.name, null, audioFile);
  const face = files.find((f) => f.name.endsWith(".face.npy"));
  const body = files.find((f) => f.name.endsWith(".npy") && !f.name.endsWith(".face.npy"));
  if (!body && audioFile) return streamAudio(audioFile);
  if (!body) throw new Error("drop a .glb, a NAME.npy (with NAME.face.npy and audio if any) or audio");
  await live.stop();
  const meta = files.find((f) => f.name.endsWith(".json") && !f.name.endsWith(".words.json"));
  const fps = meta ? JSON.parse(await meta.text()).fps : null;
  return playArrays({
    body: await body.arrayBuffer(),
    face: face ? await face.arrayBuffer() : null,
    audio: audioFrom(audioFile),
    fps,
    label: body.name,
  });
}

async function openUrl(params) {
  const src = new URL(params.get("src"), document.baseURI).href;
  if (src.endsWith(".glb")) return playGlb(src, params.get("src"), src);
  const face = params.get("face");
  return playArrays({
    body: await fetchBuffer(src),
    face: face ? await fetchBuffer(new URL(face, document.baseURI).href) : null,
    audio: params.get("audio") ? audioFrom(new URL(params.get("audio"), document.baseURI).href) : null,
    fps: params.get("fps") ? Number(params.get("fps")) : null,
    label: params.get("src"),
  });
}

function report(error) {
  console.error(error);
  setStatus(`Error: ${error.message}`);
  window.viewer.error = error.message;
}

/** Mode 2: the audio file streams to the server; playback starts when frames can follow. */
async function streamAudio(file) {
  setStatus(`${file.name}: streaming to the server`);
  live.streamFile(file).catch(report);
  return false;
}

const micButton = document.getElementById("mic");
micButton.addEventListener("click", () => {
  if (live.running) {
    live.stop().then(() => {
      micButton.textContent = "Microphone";
      player.pause();
    }, report);
    return;
  }
  micButton.textContent = "Stop";
  setStatus("microphone: connecting");
  live.startMicrophone().catch(report);
});

const playOpened = (started) => started !== false && player.play();
document.getElementById("files").addEventListener("change", (event) => openFiles(event.target.files).then(playOpened, report));
window.addEventListener("dragover", (event) => {
  event.preventDefault();
  document.body.classList.add("dragging");
});
window.addEventListener("dragleave", () => document.body.classList.remove("dragging"));
window.addEventListener("drop", (event) => {
  event.preventDefault();
  document.body.classList.remove("dragging");
  openFiles(event.dataTransfer.files).then(playOpened, report);
});

// A small handle for tests and benchmarks.
window.viewer = {
  player,
  live,
  stage,
  error: null,
  ready: null,
  seek: (time) => {
    player.seek(time);
    stage.renderNow();
  },
  stats: () => ({ frames: stage.stats.frames, seconds: (performance.now() - stage.stats.started) / 1000 }),
};

async function start() {
  const params = new URLSearchParams(window.location.search);
  if (params.get("src")) {
    await openUrl(params);
    if (params.get("t")) player.seek(Number(params.get("t")));
    if (params.get("paused") !== "1") player.play();
  } else {
    show((await bareAvatar()).scene);
  }
  if (params.get("view") === "face") {
    stage.controls.target.set(0, 1.57, 0.05);
    stage.camera.position.set(0.25, 1.62, 0.75);
    stage.controls.update();
  }
}
window.viewer.ready = start().then(() => true, (error) => {
  report(error);
  return false;
});
