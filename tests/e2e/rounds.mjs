// A real training round from the browser, for tests/e2e/test_rounds_browser.py: ML staff log in,
// launch a small round on /rounds/new, watch the progress bars on the round page until it ends,
// read the dashboard's IoU table and the pre-labels/ranks (API, with the page's session); then launch
// a long round and cancel it from its page.
// Env: SPINELAB_URL, SPINELAB_USER, SPINELAB_PASSWORD, ROUND_EPOCHS, CANCEL_EPOCHS, and
// SPINELAB_SCREENSHOT (a path: the dashboard is saved there). Prints one JSON line.
import { launch, login, BASE } from "./lib.mjs";

const EPOCHS = process.env.ROUND_EPOCHS || "12";
const CANCEL_EPOCHS = process.env.CANCEL_EPOCHS || "500";
const out = {};

async function launchRound(page, epochs) {
  await page.goto(`${BASE}/rounds/new`);
  for (const box of await page.locator('input[name="architectures"]').all()) await box.setChecked(false);
  await page.check('input[name="architectures"][value="UD"]');
  await page.fill('input[name="folds"]', "2");
  await page.fill('input[name="epochs"]', epochs);
  await page.fill('input[name="steps_per_epoch"]', process.env.ROUND_STEPS || "2");
  await page.fill('input[name="min_spacing"]', "");
  await page.fill('input[name="promotion_floor"]', "0");
  await page.selectOption('select[name="strategy"]', "entropy");
  await page.fill('input[name="next_batch"]', "3");
  await page.fill('input[name="filters"]', "4");
  await page.fill('input[name="batch_size"]', "4");
  await Promise.all([page.waitForURL(/\/rounds\/\d+\/$/, { timeout: 30000 }), page.click('form[action^="/rounds/new"] button[type="submit"]')]);
  return Number(new URL(page.url()).pathname.split("/")[2]);
}

/** What the round page shows now: the round bar, its state, and each job row's cells. The page
 * reloads itself when the round ends (to show the server-rendered results): read it again then. */
async function readRoundPage(page) {
  for (let attempt = 0; ; attempt++) {
    try {
      await page.waitForSelector("#round-progress", { timeout: 20000 });
      return await readOnce(page);
    } catch (error) {
      if (attempt >= 5) throw error;
      await page.waitForLoadState("load").catch(() => {});
    }
  }
}

function readOnce(page) {
  return page.evaluate(() => ({
    t: performance.now(),
    state: document.getElementById("round-state").textContent.trim(),
    progress: Number(document.getElementById("round-progress").value),
    jobs: Array.from(document.querySelectorAll("#jobs tbody tr")).map((row) => {
      const cells = row.querySelectorAll("td");
      return { id: Number(row.dataset.job), task: cells[1].textContent.trim(), state: cells[2].textContent.trim(),
        progress: Number(cells[3].querySelector("progress").value), epoch: cells[4].textContent.trim() };
    }),
  }));
}

async function watch(page, until, timeoutMs) {
  const samples = [];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const seen = await readRoundPage(page);
    const last = samples[samples.length - 1];
    if (!last || JSON.stringify({ ...last, t: 0 }) !== JSON.stringify({ ...seen, t: 0 })) samples.push(seen);
    if (until(seen) || Date.now() > deadline) return samples;
    await page.waitForTimeout(250);
  }
}

/** GET an API path with the page's session (retried across the page's own reload). */
async function api(page, path) {
  for (let attempt = 0; ; attempt++) {
    try {
      return await page.evaluate(async (p) => {
        const res = await fetch(p, { headers: { Accept: "application/json" } });
        return { status: res.status, body: await res.json().catch(() => null) };
      }, path);
    } catch (error) {
      if (attempt >= 5) throw error;
      await page.waitForLoadState("load").catch(() => {});
    }
  }
}

async function allSlices(page) {
  const slices = [];
  for (let next = "/api/slices/?page_size=200"; next; ) {
    const { body } = await api(page, next);
    slices.push(...body.results);
    next = body.next ? new URL(body.next).pathname + new URL(body.next).search : null;
  }
  return slices;
}

const { browser, close } = await launch();
try {
  const page = await login(browser, process.env.SPINELAB_USER, process.env.SPINELAB_PASSWORD);
  page.on("pageerror", (e) => { out.pageErrors = (out.pageErrors || []).concat(String(e)); });

  // 1. A small real round, watched on its page.
  const started = Date.now();
  out.roundId = await launchRound(page, EPOCHS);
  out.samples = await watch(page, (s) => s.state !== "running", 240000);
  out.seconds = (Date.now() - started) / 1000;
  out.final = out.samples[out.samples.length - 1];
  // The round page itself shows the results once the round has ended, without a manual reload.
  await page.waitForSelector("table.iou-table", { timeout: 15000 }).catch(() => {});
  out.roundPage = {
    tables: await page.locator("table.iou-table").count(),
    best: await page.locator("table.iou-table thead th.best").allTextContents(),
    versions: await page.locator("#versions li").allTextContents(),
  };
  out.round = (await api(page, `/api/rounds/${out.roundId}/`)).body;

  // 2. The dashboard: per-class IoU table of this round, best architecture marked.
  await page.goto(`${BASE}/rounds/`);
  await page.waitForFunction(() => window.__roundsData !== undefined, null, { timeout: 20000 });
  const table = page.locator(`table.iou-table[data-round="${out.round.number}"]`);
  out.table = {
    caption: await table.locator("caption").textContent(),
    best: await table.locator("thead th.best").allTextContents(),
    classes: await table.locator("tbody tr:not(.mean-row):not(.postprocess-row) th").allTextContents(),
    postprocess: await table.locator("tbody tr.postprocess-row td").allTextContents(),
    firstRow: await table.locator("tbody tr").first().locator("td").allTextContents(),
  };
  out.liveModel = (await page.textContent("#live-model")).trim();
  out.simulations = await page.locator("#simulations figure").count();
  if (process.env.SPINELAB_SCREENSHOT) await page.screenshot({ path: process.env.SPINELAB_SCREENSHOT, fullPage: true });

  // 3. Pre-labels and ranks, through the API with the page's session.
  const slices = await allSlices(page);
  out.slices = slices.map((s) => ({ id: s.id, state: s.state, rank: s.rank, subject: s.subject_label,
    prelabel: s.prelabel_revision, head: s.head_revision }));
  const ranked = slices.find((s) => s.rank === 1);
  if (ranked) out.prelabelRevision = (await api(page, `/api/revisions/${ranked.prelabel_revision}/`)).body;

  // 4. A long round, cancelled from its page once its first job is training.
  out.cancelRoundId = await launchRound(page, CANCEL_EPOCHS);
  const training = await watch(page, (s) => s.jobs.some((j) => j.epoch !== ""), 90000);
  out.beforeCancel = training[training.length - 1];
  const clicked = Date.now();
  await page.click("#cancel-round");
  out.cancelSamples = await watch(page, (s) => s.state !== "running", 90000);
  out.cancelSeconds = (Date.now() - clicked) / 1000;
  out.cancelFinal = out.cancelSamples[out.cancelSamples.length - 1];
  out.cancelRound = (await api(page, `/api/rounds/${out.cancelRoundId}/`)).body;
  out.models = (await api(page, "/api/models/")).body.results;
} catch (error) {
  out.error = String(error && error.stack ? error.stack : error);
} finally {
  await close();
}
console.log(JSON.stringify(out));
