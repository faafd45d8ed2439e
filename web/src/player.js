// Playback clock: drives either a glTF animation clip (AnimationMixer) or a frame source
// through the rig, optionally slaved to an <audio> element so sound and motion stay in sync.
import * as THREE from "three";

export class ClipDriver {
  constructor(root, clip) {
    this.mixer = new THREE.AnimationMixer(root);
    this.mixer.clipAction(clip).play();
    this.duration = clip.duration;
  }

  setTime(time) {
    // A repeating action wraps at its duration back to the first frame: hold the last one.
    this.mixer.setTime(Math.min(time, this.duration * (1 - 1e-6)));
  }
}

export class SourceDriver {
  constructor(rig, source) {
    this.rig = rig;
    this.source = source;
    this.duration = source.duration;
  }

  setTime(time) {
    const frame = this.source.frameAt(time);
    if (frame) this.rig.applyFrame(frame);
  }
}

export class Player {
  constructor() {
    this.driver = null;
    this.audio = null;
    this.time = 0;
    this.playing = false;
    this.listeners = [];
  }

  load(driver, audio = null) {
    this.pause();
    this.driver = driver;
    this.audio = audio;
    this.seek(0);
  }

  get duration() {
    return this.driver ? this.driver.duration : 0;
  }

  play() {
    if (!this.driver) return;
    this.playing = true;
    if (this.audio) {
      this.audio.currentTime = this.time;
      this.audio.play().catch(() => {}); // autoplay may be refused until a user gesture
    }
    this._notify();
  }

  pause() {
    this.playing = false;
    if (this.audio) this.audio.pause();
    this._notify();
  }

  seek(time) {
    this.time = Math.min(Math.max(time, 0), this.duration || 0);
    if (this.audio) this.audio.currentTime = this.time;
    if (this.driver) this.driver.setTime(this.time);
    this._notify();
  }

  /** Advance by dt seconds (the audio clock wins while it plays). */
  update(dt) {
    if (!this.driver || !this.playing) return;
    if (this.audio && !this.audio.paused) this.time = this.audio.currentTime;
    else this.time += dt;
    if (this.time >= this.duration) {
      if (this.audio) {
        this.time = this.duration;
        this.pause();
      } else {
        this.time = this.duration > 0 ? this.time % this.duration : 0;
      }
    }
    this.driver.setTime(this.time);
    this._notify();
  }

  onChange(listener) {
    this.listeners.push(listener);
  }

  _notify() {
    for (const listener of this.listeners) listener(this);
  }
}
