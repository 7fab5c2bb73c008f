// The notebook renderer page (MLflow's Jupyter iframe) and the dark theme.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  useBrowser,
  screenshots,
  url,
  tid,
  eventually,
  demoTrace,
  BASE_URL,
  EXPERIMENT_ID,
  ARTIFACTS,
} from "../lib/harness.mjs";
import path from "node:path";

/** Runs `body` with a fresh page; fails when the page logged errors or requests failed. */
const withPage = useBrowser();

/** Relative luminance (0 black … 1 white) of a CSS rgb()/rgba() colour. */
function luminance(css) {
  const [r, g, b] = css.match(/[\d.]+/g).slice(0, 3).map(Number).map((c) => {
    const s = c / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

/** The colour the page's background really shows (the first non-transparent of body, html). */
const pageBackground = (page) =>
  page.evaluate(() => {
    for (const el of [document.body, document.documentElement]) {
      const bg = getComputedStyle(el).backgroundColor;
      if (bg && bg !== "rgba(0, 0, 0, 0)" && bg !== "transparent") return bg;
    }
    return "rgb(255, 255, 255)";
  });

test("notebook renderer page shows one trace compactly", async () => {
  const trace = await demoTrace("agent");
  await withPage(
    async (page) => {
      await page.goto(
        `${BASE_URL}/static-files/lib/notebook-trace-renderer/index.html?trace_id=${trace.info.trace_id}&experiment_id=${EXPERIMENT_ID}`,
      );
      await page.locator(tid("trace-view")).waitFor();
      await page.locator(tid("span-row")).first().waitFor();
      const header = await page.locator(tid("trace-header")).innerText();
      assert.ok(header.includes(trace.info.trace_id), header);
      // A notebook cell is narrow: the page must not need horizontal scrolling.
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      assert.ok(overflow <= 1, `no horizontal overflow in an 800 px iframe (${overflow} px)`);
      await page.locator(tid("span-row")).nth(1).click().catch(() => page.locator(tid("span-row")).first().click());
      await page.locator(tid("span-detail")).waitFor();
      await screenshots(page, "20-notebook");
    },
    { viewport: { width: 800, height: 500 } },
  );
});

test("dark mode follows the system setting", async () => {
  const trace = await demoTrace("rag");
  const backgrounds = {};
  for (const colorScheme of ["light", "dark"]) {
    await withPage(
      async (page) => {
        await page.goto(url(`/experiments/${EXPERIMENT_ID}/traces/${trace.info.trace_id}`));
        await page.locator(tid("span-row")).first().waitFor();
        await page.locator(tid("expand-all")).click();
        await page.locator(tid("span-row")).nth(3).click();
        await page.locator(tid("span-detail")).waitFor();
        backgrounds[colorScheme] = await pageBackground(page);
        // The text must contrast with the background in both themes.
        const text = await page.evaluate(() => getComputedStyle(document.body).color);
        const [bg, fg] = [luminance(backgrounds[colorScheme]), luminance(text)];
        const contrast = (Math.max(bg, fg) + 0.05) / (Math.min(bg, fg) + 0.05);
        assert.ok(contrast >= 7, `${colorScheme}: text ${text} on ${backgrounds[colorScheme]} has contrast ${contrast.toFixed(1)}`);
        await page.screenshot({ path: path.join(ARTIFACTS, `30-theme-context-${colorScheme}.png`) });
      },
      { colorScheme },
    );
  }
  assert.ok(luminance(backgrounds.light) > 0.7, `light background ${backgrounds.light}`);
  assert.ok(luminance(backgrounds.dark) < 0.1, `dark background ${backgrounds.dark}`);
});

test("views load without console errors or failed requests", async () => {
  // Every test checks its own page; this walks the remaining routes once more in dark mode.
  const trace = await demoTrace("chat");
  await withPage(
    async (page) => {
      for (const hash of [
        "/experiments",
        `/experiments/${EXPERIMENT_ID}/traces`,
        `/experiments/${EXPERIMENT_ID}/sessions`,
        `/experiments/${EXPERIMENT_ID}/traces/${trace.info.trace_id}`,
      ]) {
        await page.goto(url(hash));
        await eventually(
          async () => (await page.locator(`${tid("experiment-row")}, ${tid("trace-row")}, ${tid("session-group")}, ${tid("span-row")}`).count()) > 0,
          `${hash} shows content`,
        );
      }
    },
    { colorScheme: "dark" },
  );
});
