// The dashboard in headless Chromium against the real stack: experiments API, events API and the
// analytics projection (chdb), seeded by the experiments e2e fixture. Needs /usr/bin/chromium
// (deploy/local-stack/chromium.sh installs it). Leaves a screenshot in the temp directory.
import assert from "node:assert/strict";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { chromium, type Browser, type Page } from "playwright-core";
import { TEST_KEYS } from "../../core/testing/http.ts";
import { seedExperimentStack, type SeededStack } from "../experiments/testing.ts";
import { dashboardRouter } from "./router.ts";

const SCREENSHOT = path.join(tmpdir(), "reckon-dashboard.png");

let stack: SeededStack;
let browser: Browser;
let page: Page;

before(async () => {
  stack = await seedExperimentStack(() => [dashboardRouter()]);
  browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  page = await browser.newPage({ viewport: { width: 1280, height: 1100 } });
});
after(async () => {
  await browser?.close();
  await stack?.close();
});

describe("dashboard", () => {
  it("asks for a key, then lists experiments with their status", async () => {
    await page.goto(`${stack.api.base}/dashboard`);
    assert.equal(await page.locator("#experiment-list li").count(), 0);
    await page.fill("#api-key", "not-a-key");
    await page.click("#key-form button");
    await page.getByRole("alert").waitFor();
    assert.match(await page.getByRole("alert").innerText(), /unknown API key/);

    await page.fill("#api-key", TEST_KEYS.read);
    await page.click("#key-form button");
    await page.locator("#experiment-list li").nth(1).waitFor();
    const names = await page.locator("#experiment-list button").allInnerTexts();
    assert.deepEqual(
      names.map((n) => n.replace(/\s+/g, " ").trim()),
      // Created at the same instant: newest first, then by key.
      ["Balanced checkout test running", "Skewed rollout running"],
    );
    assert.equal(
      await page.evaluate<string | null>('localStorage.getItem("reckon.readKey")'),
      TEST_KEYS.read,
      "the key is kept for the next visit",
    );
  });

  it("a skewed experiment shows the SRM warning, results tables with intervals and the cumulative chart", async () => {
    await page.click('#experiment-list button[data-key="skewed-test"]');
    await page.getByTestId("srm-warning").waitFor();
    // A running experiment read as of now: from the totals the projection keeps.
    assert.match(
      await page.locator("#experiment p.hint").first().innerText(),
      /from the per-user totals kept live/,
    );
    assert.match(
      await page.getByTestId("srm-warning").innerText(),
      /Sample ratio mismatch.*control 600.*treatment 400/s,
    );
    const row = page.locator('table[data-metric="purchase-rate"] tr[data-variant="treatment"]');
    const cells = await row.locator("td").allInnerTexts();
    assert.equal(cells[0], "treatment");
    assert.equal(cells[1], "400");
    assert.equal(cells[2], "0.2500");
    assert.equal(cells[3], "+0.0%");
    assert.equal(await row.locator("svg.ci line.ci-bar").count(), 1);
    assert.match(await page.locator('table[data-metric="revenue"] caption').innerText(), /guardrail/);
    // The chart arrives in a second request (the series costs more than the tables). A flat line (lift 0 on
    // every day) has no height, so wait for the chart to be attached and count the line.
    await page.getByTestId("cumulative-chart").waitFor({ state: "attached" });
    assert.equal(await page.getByTestId("cumulative-chart").locator("polyline.lift-line").count(), 1);
  });

  it("a balanced experiment shows no SRM warning; screenshot for a human look", async () => {
    await page.click('#experiment-list button[data-key="balanced-test"]');
    await page.getByTestId("srm-ok").waitFor();
    assert.equal(await page.getByTestId("srm-warning").count(), 0);
    const treatment = page.locator('table[data-metric="purchase-rate"] tr[data-variant="treatment"]');
    const { users, converted } = stack.balanced;
    const cells = await treatment.locator("td").allInnerTexts();
    assert.equal(cells[1], String(users.treatment));
    assert.equal(cells[2], (converted.treatment! / users.treatment!).toFixed(4));
    await page.getByTestId("cumulative-chart").waitFor({ state: "attached" });
    assert.equal(await page.getByTestId("cumulative-chart").locator("polyline.lift-line").count(), 1);
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
  });
});
