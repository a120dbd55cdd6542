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
import { DASHBOARD_CSP, dashboardRouter } from "./router.ts";

const SCREENSHOT = path.join(tmpdir(), "reckon-dashboard.png");

let stack: SeededStack;
let browser: Browser;
let page: Page;
let cspHeader: string | undefined;
// What the browser refused under the Content-Security-Policy: the page must need nothing it forbids.
const cspViolations: string[] = [];

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
  page.on("console", (message) => {
    if (/Content Security Policy/i.test(message.text())) cspViolations.push(message.text());
  });
});
after(async () => {
  await browser?.close();
  await stack?.close();
});

describe("dashboard", () => {
  it("asks for a key, then lists experiments with their status", async () => {
    cspHeader = (await page.goto(`${stack.api.base}/dashboard`))?.headers()["content-security-policy"];
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
      [
        "Balanced checkout test running",
        "Spend with a pre-period running",
        "Overlap A running",
        "Overlap B running",
        "Skewed rollout running",
      ],
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

  it("is served with a Content-Security-Policy the page keeps to", () => {
    assert.equal(cspHeader, DASHBOARD_CSP);
    assert.match(DASHBOARD_CSP, /script-src 'self'/);
    assert.match(DASHBOARD_CSP, /frame-ancestors 'none'/);
    assert.deepEqual(cspViolations, []);
  });

  it("the header spans the page at 1,600 px, with a results table on screen", async () => {
    for (const width of [1600, 1000]) {
      await page.setViewportSize({ width, height: 900 });
      await page.locator('table[data-metric="purchase-rate"]').waitFor();
      const sizes = await page.evaluate<{ header: number; page: number; window: number }>(
        '({ header: document.querySelector("header").getBoundingClientRect().width, ' +
          "page: document.documentElement.scrollWidth, window: window.innerWidth })",
      );
      assert.deepEqual(sizes, { header: width, page: width, window: width }, `at ${width} px`);
    }
    await page.setViewportSize({ width: 1280, height: 1100 });
  });

  it("warns of users shared with another running experiment and the interaction found", async () => {
    await page.click('#experiment-list button[data-key="overlap-a"]');
    const warning = page.locator('[data-testid="overlap-warning"][data-other="overlap-b"]');
    await warning.waitFor();
    assert.match(await warning.innerText(), /400 users are also in the running experiment overlap-b/);
    assert.match(await warning.innerText(), /Interaction on purchase-rate \(treatment × treatment/);
    await page.click('#experiment-list button[data-key="balanced-test"]');
    await page.locator('table[data-metric="purchase-rate"]').waitFor();
    assert.equal(await page.getByTestId("overlap-warning").count(), 0);
  });

  it("shows the analysis settings on the experiment page", async () => {
    await page.click('#experiment-list button[data-key="cuped-test"]');
    const settings = page.getByTestId("analysis-settings");
    await settings.waitFor();
    const value = (name: string) => settings.locator(`dd[data-setting="${name}"]`).innerText();
    assert.equal(await value("α"), "0.1");
    assert.match(await value("test"), /^one-sided/);
    assert.equal(await value("sequential"), "no (fixed horizon)");
    assert.equal(await value("Bayesian prior"), "normal, mean +1.0%, variance 0.0025");
    assert.equal(await value("correction"), "holm, across all metrics and variants");
    assert.equal(await value("non-inferiority margins"), "revenue 5.0%");
  });

  it("the power calculator page shows what the power API computes", async () => {
    await page.click('#experiment-list button[data-key="balanced-test"]');
    await page.getByTestId("power-link").click();
    await page.fill("#power-effect", "0.5");
    await page.click("#power-form button");
    const row = page.locator(
      '[data-testid="power-table"] tr[data-metric="purchase-rate"][data-variant="treatment"]',
    );
    // A locator wait, not waitForFunction: the page's CSP forbids the eval a string predicate needs.
    await page.locator("#power-output p.hint", { hasText: "users over" }).waitFor();
    const api = await stack.api.call("GET", "/v1/experiments/balanced-test/power?power=0.8&effect=0.5", {
      scope: "read",
    });
    const v = api.body.metrics.find((m: { key: string }) => m.key === "purchase-rate").variants[0];
    const pct = (x: number) => `${x >= 0 ? "+" : ""}${(x * 100).toFixed(1)}%`;
    assert.equal(await row.locator('td[data-col="mde"]').innerText(), pct(v.mde));
    assert.equal(
      await row.locator('td[data-col="power"]').innerText(),
      `${(v.power_at_effect * 100).toFixed(1)}%`,
    );
    assert.equal(
      await row.locator('td[data-col="users-needed"]').innerText(),
      String(Math.ceil(v.users_needed)),
    );
    assert.equal(await row.locator('td[data-col="days"]').innerText(), v.days_needed.toFixed(1));
    assert.equal(new URL(page.url()).hash, "#balanced-test/power");
  });
});
