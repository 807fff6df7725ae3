// A 3-class lesion project with two channels, end to end in the browser, for
// tests/e2e/test_projects_browser.py: the admin creates it on /projects/ (schema, lesion classes,
// channels STIR + T1w, members), imports the lesion phantom on the cases page; anna paints a lesion
// in the editor and submits; the admin accepts it on the review page; mila launches a tiny round on
// /rounds/new (the project's channels preselected), a real worker trains it, the round page shows the
// lesion table and the unlabelled slices get pre-labels; ben, no member, sees nothing of the project.
// Env: SPINELAB_URL, SPINELAB_CREDENTIALS (JSON user -> password), LESION_ZIP, SPINELAB_SCREENSHOT.
import { BASE, launch, login, openEditor, pageErrors, strokeThrough } from "./lib.mjs";

const creds = JSON.parse(process.env.SPINELAB_CREDENTIALS);
const out = {};

/** fetch with the page's session; writes carry the CSRF cookie as Django wants. Reads are retried
 * across the page's own reloads (the round page reloads itself when the round ends). */
async function api(page, path, method = "GET", body = undefined) {
  for (let attempt = 0; ; attempt++) {
    try {
      return await apiOnce(page, path, method, body);
    } catch (error) {
      if (method !== "GET" || attempt >= 5) throw error;
      await page.waitForLoadState("load").catch(() => {});
    }
  }
}

async function apiOnce(page, path, method, body) {
  return page.evaluate(async ([p, m, b]) => {
    const csrf = (document.cookie.match(/csrftoken=([^;]+)/) || [])[1] || "";
    const res = await fetch(p, { method: m, headers: { Accept: "application/json", "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: b === undefined ? undefined : JSON.stringify(b) });
    return { status: res.status, body: await res.json().catch(() => null) };
  }, [path, method, body]);
}

async function metsSlices(page, projectId) {
  return (await api(page, `/api/slices/?project=${projectId}&page_size=500`)).body.results;
}

const { browser, close } = await launch();
try {
  // 1. The admin creates the project in the browser and adds members.
  const admin = await login(browser, "admin", creds.admin);
  await admin.goto(`${BASE}/projects/`);
  await admin.fill('#create-project input[name="slug"]', "mets");
  await admin.fill('#create-project input[name="name"]', "Spinal metastases");
  await admin.fill('#create-project textarea[name="classes"]', "background\nlytic lesion\nsclerotic lesion");
  await admin.fill('#create-project input[name="lesion_classes"]', "lytic lesion, sclerotic lesion");
  await admin.fill('#create-project input[name="channels"]', "STIR, T1w");
  await Promise.all([admin.waitForURL(/\/projects\/mets\/$/), admin.click("#create-project button[type=submit]")]);
  for (const [user, role] of [["mila", "ml_staff"], ["anna", "annotator"]]) {
    await admin.selectOption('#add-member select[name="username"]', user);
    await admin.selectOption('#add-member select[name="role"]', role);
    await Promise.all([admin.waitForNavigation(), admin.click("#add-member button[type=submit]")]);
  }
  out.members = await admin.locator("#project-members tbody tr").evaluateAll((rows) => rows.map((r) => Array.from(r.children).map((c) => c.textContent.trim()).join(" ")));
  out.schema = await admin.locator("#project-schema tbody tr[data-index]").evaluateAll((rows) =>
    rows.map((r) => ({ name: r.querySelector("input[name^=name_]").value, lesion: !!r.querySelector("input[name^=lesion_]:checked") })));
  const project = (await api(admin, "/api/projects/")).body.results.find((p) => p.slug === "mets");
  out.project = project;

  // 2. Import the lesion phantom on the cases page (in the background, following the job).
  await admin.goto(`${BASE}/`);
  await admin.setInputFiles('#import-form input[name="file"]', process.env.LESION_ZIP);
  await admin.selectOption('#import-form select[name="project"]', String(project.id));
  await admin.selectOption('#import-form select[name="kind"]', "mids");
  await admin.check('#import-form input[name="background"]');
  await admin.click("#import-form button[type=submit]");
  await admin.waitForFunction(() => /^Import(ed| failed)/.test(document.getElementById("import-result").textContent || ""), null, { timeout: 120000 });
  out.importResult = await admin.locator("#import-result").textContent();
  await admin.goto(`${BASE}/projects/mets/`);
  if (process.env.SPINELAB_SCREENSHOT) await admin.screenshot({ path: process.env.SPINELAB_SCREENSHOT, fullPage: true });
  const imported = await metsSlices(admin, project.id);
  out.imported = imported.map((s) => s.state);
  const target = imported.find((s) => s.state === "unlabelled");

  // 3. anna claims a slice of the project and paints a lytic lesion (key 2 = class 1), saves, submits.
  const anna = await login(browser, "anna", creds.anna);
  const assigned = await api(admin, "/api/assignments/", "POST", { annotator: (await api(anna, "/api/me/")).body.id, slices: [target.id] });
  out.assignStatus = assigned.status;
  await openEditor(anna, target.id, "?autosave=600000");
  out.editorChannels = await anna.locator("#channel option").evaluateAll((opts) => opts.map((o) => o.value));
  await anna.keyboard.press("2");
  await strokeThrough(anna, [[20, 20], [24, 22], [28, 24], [30, 26]]);
  await anna.click("#save-now");
  await anna.waitForSelector('body[data-save-state="saved"]');
  await anna.click("#submit");
  await anna.waitForFunction(async (id) => (await (await fetch(`/api/slices/${id}/`)).json()).state === "submitted", target.id, { timeout: 15000, polling: 300 });
  out.annaProjects = (await api(anna, "/api/projects/")).body.results.map((p) => p.slug);

  // 4. The admin accepts it on the review page.
  await admin.goto(`${BASE}/review/${target.id}/`);
  await admin.click("#review-accept");
  await admin.waitForFunction(() => document.getElementById("review-status").textContent === "accepted", null, { timeout: 15000 });

  // 5. mila launches a tiny round for the project; a real worker trains it.
  const mila = await login(browser, "mila", creds.mila);
  await mila.goto(`${BASE}/rounds/new?project=mets`);
  out.channelChoice = await mila.locator('select[name="channels"]').inputValue();
  for (const box of await mila.locator('input[name="architectures"]').all()) await box.setChecked(false);
  await mila.check('input[name="architectures"][value="UD"]');
  for (const [name, value] of [["folds", "2"], ["epochs", "1"], ["steps_per_epoch", "3"], ["filters", "4"], ["batch_size", "4"], ["promotion_floor", "0"], ["next_batch", "2"], ["min_spacing", ""]]) {
    await mila.fill(`input[name="${name}"]`, value);
  }
  await Promise.all([mila.waitForURL(/\/rounds\/\d+\/$/, { timeout: 30000 }), mila.click('form[action^="/rounds/new"] button[type="submit"]')]);
  const roundId = Number(new URL(mila.url()).pathname.split("/")[2]);
  // Wait on the dashboard: the round page reloads itself when the round ends, which would race the
  // navigation below (rounds.mjs follows that page live).
  await mila.goto(`${BASE}/rounds/?project=mets`);
  const ended = (r) => ["succeeded", "failed", "cancelled"].includes(r.state);
  const deadline = Date.now() + 300000;
  let round;
  for (;;) {
    round = (await api(mila, `/api/rounds/${roundId}/`)).body;
    if (ended(round) || Date.now() > deadline) break;
    await mila.waitForTimeout(1000);
  }
  if (!ended(round)) {
    throw new Error(`round ${roundId} still ${round.state} after 300 s: ${round.message}`);
  }
  out.round = { state: round.state, message: round.message, channels: round.config.channels, lesions: round.versions.map((v) => v.report.lesions) };
  await mila.goto(`${BASE}/rounds/${roundId}/`);
  out.lesionTable = await mila.locator("table.lesion-table tbody tr").evaluateAll((rows) => rows.map((r) => Array.from(r.children).map((c) => c.textContent.trim())));
  await mila.goto(`${BASE}/rounds/?project=mets`);
  out.dashboardLesionTables = await mila.locator("table.lesion-table").count();
  out.afterRound = (await metsSlices(mila, project.id)).map((s) => ({ id: s.id, state: s.state, rank: s.rank }));

  // 6. ben (a global annotator, no member) sees nothing of the project.
  const ben = await login(browser, "ben", creds.ben);
  out.benProjects = (await api(ben, "/api/projects/")).body.results.map((p) => p.slug);
  out.benSlice = (await api(ben, `/api/slices/${target.id}/`)).status;
  const benPage = await ben.goto(`${BASE}/slices/${target.id}/edit/`);
  out.benEditor = benPage.status();
} catch (err) {
  out.error = String(err && err.stack ? err.stack : err);
} finally {
  await close();
}
if (pageErrors.length) out.pageErrors = pageErrors;
console.log(JSON.stringify(out));
