// Drive the viewer's live modes in headless Chromium (playwright-core) against a live server,
// with the fake microphone playing SPEECH.wav; report frames, words, latency, two screenshots
// (the avatar alone) and console errors as JSON.
// Usage: node scripts/live_check.mjs URL OUT_DIR SPEECH.wav MODE [SECONDS=6]
//   MODE mic:  click Microphone, stream SECONDS of the fake microphone, then stop.
//   MODE file: choose SPEECH.wav in the file picker; wait for the server's done.
import { chromium } from "playwright-core";

const [url, outDir, speech, mode, secondsText = "6"] = process.argv.slice(2);
const seconds = Number(secondsText);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  headless: true,
  args: [
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
    `--use-file-for-fake-audio-capture=${speech}`,
    "--autoplay-policy=no-user-gesture-required",
    "--enable-unsafe-swiftshader", "--use-angle=swiftshader",
  ],
});
const result = { url, mode, consoleErrors: [], pageErrors: [], failedRequests: [], screenshots: [] };
const live = () => {
  const c = window.viewer.live.client;
  if (!c) return { state: window.viewer.live.state };
  return {
    state: window.viewer.live.state,
    frames: c.frames,
    words: c.words.map((w) => w.word),
    ready: c.ready,
    error: c.error,
    done: c.done,
    latency: { last: c.latency.last, p50: c.latency.quantile(0.5), p95: c.latency.quantile(0.95), n: c.latency.values.length },
    audioSeconds: c.clock ? c.clock.samples / c.clock.sampleRate : 0,
  };
};
const OVERLAYS = ["bar", "status", "latency", "words"];
async function shot(page, k) {
  const path = `${outDir}/live_${k}.png`;
  const show = ([visibility, ids]) => ids.forEach((id) => (document.getElementById(id).style.visibility = visibility));
  await page.evaluate(show, ["hidden", OVERLAYS]);
  await page.screenshot({ path });
  await page.evaluate(show, ["", OVERLAYS]);
  result.screenshots.push({ path, frames: await page.evaluate(() => window.viewer.live.client?.frames ?? 0) });
}
let page = null;
try {
  page = await browser.newPage({ viewport: { width: 640, height: 480 } });
  page.on("console", (message) => {
    if (message.type() === "error") result.consoleErrors.push(message.text());
    if (process.env.DEBUG) console.error(`[${message.type()}] ${message.text()}`);
  });
  page.on("pageerror", (error) => result.pageErrors.push(String(error)));
  page.on("requestfailed", (request) => result.failedRequests.push(request.url()));
  await page.goto(url, { waitUntil: "load" });
  await page.waitForFunction(() => window.viewer && window.viewer.ready, null, { timeout: 60000 });
  result.ready = await page.evaluate(() => window.viewer.ready);
  const waitFrames = (n) =>
    page.waitForFunction(
      (count) => (window.viewer.live.client?.frames ?? 0) >= count || window.viewer.live.client?.error || window.viewer.error,
      n,
      { timeout: Number(process.env.WAIT_MS ?? 90000) },
    );
  if (mode === "mic") {
    await page.click("#mic");
    await waitFrames(30);
    const before = await page.evaluate(() => window.viewer.stats());
    await shot(page, 0);
    await page.waitForTimeout(Math.max(0, seconds * 1000 - 2000));
    await shot(page, 1);
    const after = await page.evaluate(() => window.viewer.stats());
    result.fps = (after.frames - before.frames) / (after.seconds - before.seconds);
    await page.screenshot({ path: `${outDir}/live_ui.png` }); // with the latency and words shown
    result.live = await page.evaluate(live);
    result.status = await page.evaluate(() => document.getElementById("status").textContent);
    result.latencyText = await page.evaluate(() => document.getElementById("latency").textContent);
    await page.click("#mic");
  } else {
    await page.setInputFiles("#files", speech);
    await page.evaluate(() => {
      // while the audio plays, the motion shown must have arrived: audio time <= newest frame
      window.syncSamples = [];
      setInterval(() => {
        const player = window.viewer.player;
        const client = window.viewer.live.client;
        if (player.audio && !player.audio.paused && client) {
          window.syncSamples.push([player.audio.currentTime, client.source.latestTime]);
        }
      }, 100);
    });
    await waitFrames(30);
    const before = await page.evaluate(() => window.viewer.stats());
    await shot(page, 0);
    await page.waitForTimeout(1500);
    await shot(page, 1);
    await page.waitForFunction(
      () => window.viewer.live.client?.done || window.viewer.live.client?.error || window.viewer.error,
      null,
      { timeout: 120000 },
    );
    const after = await page.evaluate(() => window.viewer.stats());
    result.fps = (after.frames - before.frames) / (after.seconds - before.seconds);
    result.live = await page.evaluate(live);
    await page.waitForFunction(() => window.viewer.player.playing === false, null, { timeout: 60000 });
    result.playedSeconds = await page.evaluate(() => window.viewer.player.time);
    result.syncSamples = await page.evaluate(() => window.syncSamples);
    result.buffering = await page.evaluate(() => window.viewer.live.buffering);
    result.audioPlaying = await page.evaluate(() => Boolean(window.viewer.player.audio && !window.viewer.player.audio.paused));
    result.status = await page.evaluate(() => document.getElementById("status").textContent);
  }
  result.error = await page.evaluate(() => window.viewer.error);
} catch (error) {
  result.failure = String(error).split("\n")[0];
  if (page) {
    result.live = await page.evaluate(live).catch(() => null);
    result.status = await page.evaluate(() => document.getElementById("status").textContent).catch(() => null);
  }
} finally {
  await browser.close();
}
console.log(JSON.stringify(result, null, 1));
