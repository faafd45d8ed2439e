// Open the viewer in headless Chromium (playwright-core), seek to given times, take
// screenshots, measure the frame rate while playing, and report console errors as JSON.
// Usage: node scripts/browser_check.mjs URL OUT_DIR [TIMES=0.5,2.0] [FPS_SECONDS=3]
// With FILES=a.npy,a.face.npy,... in the environment the files go through the page's file
// picker (the path a user's drop takes) after the page is ready.
import { chromium } from "playwright-core";

const [url, outDir, timesText = "0.5,2.0", fpsSecondsText = "3"] = process.argv.slice(2);
const executablePath = process.env.CHROMIUM ?? "/usr/bin/chromium";
const browser = await chromium.launch({
  executablePath,
  headless: true,
  args: [
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    // WebGL on the CPU: Chromium no longer falls back to SwiftShader without this.
    "--enable-unsafe-swiftshader", "--use-angle=swiftshader",
  ],
});
const result = { url, consoleErrors: [], pageErrors: [], failedRequests: [], screenshots: [] };
try {
  const page = await browser.newPage({ viewport: { width: 640, height: 480 } });
  page.on("console", (message) => {
    if (message.type() === "error") result.consoleErrors.push(message.text());
  });
  page.on("pageerror", (error) => result.pageErrors.push(String(error)));
  page.on("requestfailed", (request) => result.failedRequests.push(request.url()));
  await page.goto(url, { waitUntil: "load" });
  await page.waitForFunction(() => window.viewer && window.viewer.ready, null, { timeout: 30000 });
  result.ready = await page.evaluate(() => window.viewer.ready);
  if (process.env.FILES) {
    await page.setInputFiles("#files", process.env.FILES.split(","));
    await page.waitForFunction(() => window.viewer.player.duration > 0 || window.viewer.error, null, {
      timeout: 30000,
    });
  }
  result.error = await page.evaluate(() => window.viewer.error);
  result.status = await page.evaluate(() => document.getElementById("status").textContent);
  result.duration = await page.evaluate(() => window.viewer.player.duration);
  result.renderer = await page.evaluate(() => {
    const gl = window.viewer.stage.renderer.getContext();
    const info = gl.getExtension("WEBGL_debug_renderer_info");
    return info ? gl.getParameter(info.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER);
  });
  await page.evaluate(() => {
    window.viewer.player.pause();
    for (const id of ["bar", "status"]) document.getElementById(id).style.visibility = "hidden";
  });
  for (const [k, time] of timesText.split(",").map(Number).entries()) {
    await page.evaluate((t) => window.viewer.seek(t), time);
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    const path = `${outDir}/shot_${k}.png`;
    await page.screenshot({ path });
    result.screenshots.push({ time, path });
  }
  const seconds = Number(fpsSecondsText);
  if (seconds > 0) {
    await page.evaluate(() => window.viewer.player.play());
    const before = await page.evaluate(() => window.viewer.stats());
    await page.waitForTimeout(seconds * 1000);
    const after = await page.evaluate(() => window.viewer.stats());
    result.fps = (after.frames - before.frames) / (after.seconds - before.seconds);
  }
} finally {
  await browser.close();
}
console.log(JSON.stringify(result, null, 1));
