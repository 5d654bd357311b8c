/**
 * The dashboard in a real browser: Debian's chromium driven by
 * playwright-core (installed by .ci/run). Skipped, with a message, where
 * /usr/bin/chromium is missing.
 */

import assert from "node:assert/strict";
import { chromium } from "npm:playwright-core@1.57.0";
import { dashboardRun } from "./_dashboard.ts";
import { pidAlive, waitFor } from "./_helpers.ts";

/** The page's `document`, as far as the functions that run in the page use it. */
declare const document: {
  querySelectorAll(selector: string): Iterable<{ textContent: string | null }>;
  getElementById(id: string): { textContent: string | null };
};

const CHROMIUM = "/usr/bin/chromium";
const hasChromium = (() => {
  try {
    return Deno.statSync(CHROMIUM).isFile;
  } catch {
    return false;
  }
})();
if (!hasChromium) console.warn(`dashboard_browser_test: ${CHROMIUM} missing, skipped`);

Deno.test({
  name:
    "browser: login, every pid, a live log line, text-only worker output, Suspend stops real pids",
  ignore: !hasChromium,
  // playwright keeps a pipe to the browser between tests
  sanitizeResources: false,
  sanitizeOps: false,
}, async () => {
  await using run = dashboardRun({ Web: 2, Other: 1 });
  const list = await run.running(3);
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
  try {
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on("console", (m) => {
      if (m.type() === "error" || m.type() === "warning") problems.push(m.text());
    });
    page.on("pageerror", (e) => problems.push(String(e)));

    await page.goto(run.dashboard.loginUrl);
    assert.equal(page.url(), run.dashboard.url, "redirected to a URL without the token");

    // every instance's pid, in its group's table
    await page.waitForFunction(
      (pids: number[]) => {
        const cells = [...document.querySelectorAll("td.pid")].map((td) => td.textContent);
        return pids.every((p) => cells.includes(String(p)));
      },
      list.map((i) => i.pid!),
      { timeout: 15_000 },
    );
    await page.evaluate(() => (globalThis as { loadedOnce?: number }).loadedOnce = 1);

    // a line printed after the page loaded shows up without a reload
    const web = list.filter((i) => i.group === "Web");
    const after = Date.now();
    Deno.kill(web[0]!.pid!, "SIGHUP");
    const mark = await page.waitForFunction(
      (since: number) => {
        const msgs = [...document.querySelectorAll("#log .msg")].map((m) => m.textContent ?? "");
        const m = msgs.map((t) => /^mark (\d+)$/.exec(t)).find((x) => x && Number(x[1]) >= since);
        return m ? Number(m[1]) : 0;
      },
      after,
      { timeout: 15_000 },
    );
    assert(Number(await mark.jsonValue()) >= after);
    assert.equal(await page.evaluate(() => (globalThis as { loadedOnce?: number }).loadedOnce), 1);

    // markup and escape codes a worker printed are text, nothing ran or was inserted
    const evil = await page.evaluate(() =>
      [...document.querySelectorAll("#log .msg")].map((m) => m.textContent ?? "")
        .find((t) => t.includes("<script>")) ?? null
    );
    assert.equal(
      evil,
      '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2"> ' +
        "\\x1b[31mred\\x1b[0m \\x07",
    );
    assert.equal(
      await page.evaluate(() => (globalThis as { __pwned?: number }).__pwned),
      undefined,
    );
    assert.equal(await page.locator("#log script, #log img").count(), 0);

    // Suspend on the Web group: its instances stop (real pids), Other keeps running
    await page.locator('section[data-group="Web"] button', { hasText: "Suspend" }).click();
    await waitFor(() => web.every((i) => !pidAlive(i.pid!)), 15_000, "Web's pids gone");
    assert(pidAlive(list.find((i) => i.group === "Other")!.pid!), "Other still runs");
    await page.waitForFunction(
      () => {
        const rows = [...document.querySelectorAll('section[data-group="Web"] tbody tr')];
        return rows.length === 2 && rows.every((r) => r.textContent?.includes("suspended"));
      },
      undefined,
      { timeout: 15_000 },
    );
    assert.deepEqual(problems, [], "no console error (a CSP violation would be one)");
  } finally {
    await browser.close();
  }
});

Deno.test({
  name: "browser: log filters by group and level, Pause holds lines, Stop asks before stopping",
  ignore: !hasChromium,
  sanitizeResources: false,
  sanitizeOps: false,
}, async () => {
  await using run = dashboardRun({ Web: 1, Other: 1 });
  const [web, other] = await run.running(2);
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
  try {
    const page = await browser.newPage();
    await page.goto(run.dashboard.loginUrl);
    await page.waitForSelector('section[data-group="Other"] td.pid');
    const marks = () =>
      page.evaluate(() =>
        [...document.querySelectorAll("#log .msg")].map((m) => m.textContent ?? "")
          .filter((t) => t.startsWith("mark ")).length
      );
    // only Other's lines pass the group filter
    await page.selectOption("#f-group", "Other");
    Deno.kill(web!.pid!, "SIGHUP");
    Deno.kill(other!.pid!, "SIGHUP");
    await page.waitForFunction(
      () =>
        [...document.querySelectorAll("#log .line")].some((l) =>
          (l.textContent ?? "").includes("[Other]") && (l.textContent ?? "").includes("mark ")
        ),
      undefined,
      { timeout: 15_000 },
    );
    await new Promise((r) => setTimeout(r, 500));
    const lines = await page.evaluate(() =>
      [...document.querySelectorAll("#log .line")].map((l) => l.textContent ?? "")
    );
    assert(lines.every((l) => !l.includes("[Web]")), lines.join("\n"));
    // level ≥ error hides info lines
    await page.selectOption("#f-group", "");
    await page.selectOption("#f-level", "error");
    const before = await marks();
    Deno.kill(web!.pid!, "SIGHUP");
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(await marks(), before, "info lines hidden at level ≥ error");
    // Pause holds new lines until resumed
    await page.selectOption("#f-level", "info");
    await page.click("#pause");
    Deno.kill(web!.pid!, "SIGHUP");
    await page.waitForFunction(
      () => /^[1-9]\d* held$/.test(document.getElementById("held").textContent ?? ""),
      undefined,
      { timeout: 15_000 },
    );
    assert.equal(await marks(), before, "nothing shown while paused");
    await page.click("#pause");
    await page.waitForFunction(
      (n: number) =>
        [...document.querySelectorAll("#log .msg")].filter((m) =>
          (m.textContent ?? "").startsWith("mark ")
        ).length > n,
      before,
      { timeout: 15_000 },
    );
    // Stop asks first; Cancel keeps the master; Yes stops it
    await page.click("#stop");
    await page.click("#stop-no");
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(run.launcher.list().filter((i) => i.state === "running").length, 2);
    await page.click("#stop");
    await page.click("#stop-yes");
    const summary = await run.done;
    assert.equal(summary.reason, "stopped");
    assert(!pidAlive(web!.pid!) && !pidAlive(other!.pid!));
  } finally {
    await browser.close();
  }
});
