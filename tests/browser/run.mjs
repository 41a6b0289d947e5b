// The console in a real browser (issue 12): Debian's Chromium, headless, driven by playwright-core
// against a real asyncd. Prints TAP (scripts/test.sh counts it). Screenshots of every page go to
// BUILD/meson-logs/browser-screenshots/. Every wait is bounded (Playwright's timeouts, until()).
//   ASYNCD_BUILD_DIR=build node tests/browser/run.mjs
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { BUILD, CHROMIUM, PASSWORD, SHOTS, Server, runAll, test, until } from './lib.mjs';

const require = createRequire(import.meta.url);
let chromium;
let axeSource;
try {
  ({ chromium } = require('playwright-core'));
  axeSource = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
} catch (e) {
  console.log('1..1\nnot ok 1 - browser tooling\n  # playwright-core or axe-core is missing: ' +
              'run "npm ci" in tests/browser (scripts/test.sh does)');
  process.exit(1);
}

const T = 15000; // the longest a single UI expectation waits
const USERS = { alice: 'System Administrator', olga: 'Operator', rita: 'Reader', sam: 'Submitter' };
const PAGES = ['overview', 'services', 'jobs', 'plugins', 'settings', 'audit', 'users'];
// what shows that a page has its data
const READY = { overview: '#hosts-table', services: 'tr[data-service="async"]', jobs: '#jobs-table',
                plugins: '#steps-table', settings: 'form.settings input', audit: '#audit-table',
                users: '#tokens-table' };

async function visit(page, name) {
  await go(page, `#/${name}`);
  await page.locator(`#page ${READY[name]}`).first().waitFor();
}
const ACTION_WORDS = /^(Start|Stop|Pause|Continue|Restart|Properties|Upload|Add step|Edit|Save step|Change schedule|Delete|Enable|Disable|Cancel|Retry|Resume|Postpone|Submit|Save changes|Create user|Create token|Revoke|Remove|On the .*|On everything.*)$/;

async function newPage(ctx, name) {
  const context = await ctx.browser.newContext({ baseURL: ctx.server.url,
                                                 viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(T);
  page.problems = [];
  page.on('console', (m) => {
    if (m.type() === 'error' && !/status of (4\d\d)/.test(m.text()))
      page.problems.push(`console error: ${m.text()}`);
  });
  page.on('pageerror', (e) => page.problems.push(`page error: ${e.message}`));
  await page.addInitScript(() => {
    window.__csp = [];
    document.addEventListener('securitypolicyviolation', (e) =>
      window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
  ctx.pages.push(page);
  page.who = name;
  return page;
}

async function login(page, name, password = PASSWORD) {
  await page.goto('/');
  await page.getByLabel('User name').fill(name);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
}

async function go(page, hash) {
  await page.evaluate((h) => { location.hash = h; }, hash);
}

async function shot(page, name) {
  fs.mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

function expectClean(page) {
  if (page.problems.length) throw new Error(`${page.who}: ${page.problems.join('; ')}`);
}

async function cspViolations(page) {
  return page.evaluate(() => window.__csp || []);
}

// The action buttons a page offers (not navigation, filters or paging).
async function actionButtons(page) {
  const names = await page.locator('main button:visible').allInnerTexts();
  return names.map((n) => n.trim()).filter((n) => ACTION_WORDS.test(n));
}

async function jobStatus(server, id) {
  return (await server.must('GET', `/api/v1/jobs/${id}`)).status_name;
}

// ---- the tests, in order (later ones build on earlier ones) ----

test('the page is served with a strict CSP and the login form; a wrong password is refused', async (ctx) => {
  const r = await fetch(`${ctx.server.url}/`);
  const csp = r.headers.get('content-security-policy') || '';
  if (!csp.includes("default-src 'self'") || csp.includes('unsafe-inline'))
    throw new Error(`CSP: ${csp}`);
  const page = ctx.admin = await newPage(ctx, 'alice');
  await login(page, 'alice', 'wrong password');
  await page.getByText('wrong user name or password').waitFor();
  await shot(page, 'login');
  await login(page, 'alice');
  await page.getByRole('heading', { name: 'Overview' }).waitFor();
  await page.getByText('alice (System Administrator)').waitFor();
});

test('a state-changing request without the CSRF token is refused (403), with it accepted', async (ctx) => {
  const out = await ctx.admin.evaluate(async () => {
    const body = JSON.stringify({ plugin_type: 'samples.noop' });
    const h = { 'Content-Type': 'application/json' };
    const a = await fetch('/api/v1/jobs', { method: 'POST', headers: h, body });
    const b = await fetch('/api/v1/jobs', { method: 'POST', body,
      headers: { ...h, 'X-CSRF-Token': sessionStorage.getItem('asyncd.csrf') } });
    return [a.status, await a.text(), b.status];
  });
  if (out[0] !== 403 || !out[1].includes('CSRF')) throw new Error(`without: ${out[0]} ${out[1]}`);
  // samples is not registered yet: the type is unknown, but the request got past the CSRF check
  if (out[2] === 403) throw new Error('with the token: 403');
});

test('Plug-ins: upload samples.so (registered, then unchanged) and add a step', async (ctx) => {
  const page = ctx.admin;
  await go(page, '#/plugins');
  const so = path.join(BUILD, 'plugins/samples/samples.so');
  await page.getByLabel('Shared library (.so)').setInputFiles(so);
  await page.getByLabel('Isolation').selectOption('none');
  await page.getByRole('button', { name: 'Upload' }).click();
  await page.locator('#upload-outcome', { hasText: /^registered: samples/ }).waitFor();
  await page.locator('#assemblies-table', { hasText: 'samples' }).waitFor();
  await page.getByRole('button', { name: 'Upload' }).click();
  await page.locator('#upload-outcome', { hasText: /^unchanged: samples/ }).waitFor();
  await page.getByLabel('Plug-in type').fill('samples.echo');
  await page.getByLabel('Message').fill('Create');
  await page.getByLabel('Entity').fill('account');
  await page.getByLabel('Name', { exact: true }).fill('echo on create');
  await page.getByRole('button', { name: 'Add step' }).click();
  await page.locator('#step-outcome', { hasText: /^Step \d+ added/ }).waitFor();
  await page.locator('#steps-table', { hasText: 'echo on create' }).waitFor();
  ctx.stepId = Number((await page.locator('#step-outcome').innerText()).match(/Step (\d+)/)[1]);
  // disable and enable it again
  await page.getByRole('button', { name: `Disable step ${ctx.stepId}` }).click();
  await page.getByRole('button', { name: `Enable step ${ctx.stepId}` }).click();
  await page.getByRole('button', { name: `Disable step ${ctx.stepId}` }).waitFor();
  // the isolation, changed and back
  await page.getByLabel('isolation of assembly samples', { exact: true }).selectOption('sandbox');
  await page.getByRole('button', { name: 'Set the isolation of assembly samples' }).click();
  await until('isolation sandbox', async () => (await ctx.server.must('GET', '/api/v1/assemblies'))
    .assemblies[0].isolation === 'sandbox');
  await page.getByLabel('isolation of assembly samples', { exact: true }).selectOption('none');
  await page.getByRole('button', { name: 'Set the isolation of assembly samples' }).click();
  await until('isolation none', async () => (await ctx.server.must('GET', '/api/v1/assemblies'))
    .assemblies[0].isolation === 'none');
  await shot(page, 'plugins');
});

test('Plug-ins: edit every field of a step; a configuration the plug-in refuses shows the 422', async (ctx) => {
  const page = ctx.admin;
  await go(page, '#/plugins');
  await page.getByRole('button', { name: `Edit step ${ctx.stepId}` }).click();
  const form = page.locator('form.step-edit');
  await form.getByLabel('Step name', { exact: true }).fill('echo edited');
  await form.getByLabel('Step rank', { exact: true }).fill('3');
  await form.getByLabel('Step filtering attributes', { exact: true }).fill('name, email');
  await form.getByLabel('Step configuration', { exact: true }).fill('{"greeting": "hi"}');
  await form.getByRole('button', { name: 'Save step' }).click();
  await page.locator('#step-edit-outcome', { hasText: `Step ${ctx.stepId} saved` }).waitFor();
  const st = await ctx.server.must('GET', `/api/v1/steps/${ctx.stepId}`);
  if (st.name !== 'echo edited' || st.rank !== 3 || st.filtering_attributes.join() !== 'name,email' ||
      st.configuration !== '{"greeting": "hi"}' || st.message !== 'Create')
    throw new Error(`the step after the edit: ${JSON.stringify(st)}`);
  await page.locator('#steps-table', { hasText: 'echo edited' }).waitFor();
  // gate.strict's create() accepts only a configuration starting with "ok"
  const gate = await ctx.server.must('POST', '/api/v1/assemblies?isolation=none',
    fs.readFileSync(path.join(BUILD, 'tests/plugins/gate_create.so')));
  const g = await ctx.server.must('POST', '/api/v1/steps', { plugin_type: 'gate.strict',
    message: 'Update', entity: 'gate', configuration: 'ok at first', name: 'strict gate' }, 201);
  await page.getByRole('button', { name: `Edit step ${g.id}` }).click();
  await form.getByLabel('Step configuration', { exact: true }).fill('not ok');
  await form.getByRole('button', { name: 'Save step' }).click();
  await page.locator('#step-edit-outcome', { hasText: /refused \(422\).*must start with "ok"/ }).waitFor();
  await shot(page, 'plugins-step-refused');
  if ((await ctx.server.must('GET', `/api/v1/steps/${g.id}`)).configuration !== 'ok at first')
    throw new Error('a refused configuration was stored');
  await form.getByRole('button', { name: 'Close' }).click();
  await ctx.server.must('DELETE', `/api/v1/steps/${g.id}?mode=cancel`, undefined, 204);
  await ctx.server.must('DELETE', `/api/v1/assemblies/${gate.id}?mode=cancel`, undefined, 204);
});

test('raise events and see the overview figures and charts move', async (ctx) => {
  const page = ctx.admin;
  await go(page, '#/overview');
  await page.locator('#fig-processed').waitFor();
  await until('a first /metrics sample', async () => (await page.locator('#fig-processed').innerText()) !== '–');
  const before = Number((await page.locator('#fig-processed').innerText()).replace(/,/g, ''));
  const lines = Array.from({ length: 40 }, (_, i) =>
    JSON.stringify({ message: 'Create', entity: 'account', target: { n: i } })).join('\n');
  const r = await fetch(`${ctx.server.url}/api/v1/events`, { method: 'POST', body: lines,
    headers: { Authorization: `Bearer ${ctx.server.token}`, 'Content-Type': 'application/x-ndjson' } });
  if (r.status !== 201) throw new Error(`events: ${r.status}`);
  await until('processed to grow by 40', async () =>
    Number((await page.locator('#fig-processed').innerText()).replace(/,/g, '')) >= before + 40, T);
  await until('the rate chart to show work', () => page.evaluate(() => {
    const c = window.Chart && window.Chart.getChart('chart-rate');
    return c && c.data.datasets[0].data.some((v) => v > 0);
  }), T);
  await until('the status chart to count succeeded jobs', () => page.evaluate(() => {
    const c = window.Chart.getChart('chart-backlog');
    return c && c.data.datasets[0].data[5] >= 40;
  }), T);
  await shot(page, 'overview');
});

test('System jobs: submit a job in the page, see it in the list and its details', async (ctx) => {
  const page = ctx.admin;
  await go(page, '#/jobs');
  await page.getByLabel('Plug-in type').first().waitFor();
  const form = page.locator('form.submit');
  await form.getByLabel('Plug-in type').fill('samples.echo');
  await form.getByLabel('Data (JSON, optional)').fill('{"hello": "console"}');
  await form.getByRole('button', { name: 'Submit' }).click();
  const msg = await form.getByText(/^Job \d+ submitted/).innerText();
  const id = Number(msg.match(/Job (\d+)/)[1]);
  await until('the job to succeed', async () => (await jobStatus(ctx.server, id)) === 'Succeeded');
  await page.getByRole('button', { name: 'Refresh' }).click();
  await page.locator('#jobs-table').getByRole('link', { name: String(id), exact: true }).click();
  await page.getByRole('heading', { name: `Job ${id}` }).waitFor();
  await page.getByText('"hello": "console"').first().waitFor();
  await page.getByRole('heading', { name: 'Trace' }).waitFor();
  await page.getByRole('heading', { name: 'Attempt history' }).waitFor();
  await shot(page, 'job-details');
});

test('a job message containing <script> is shown as text', async (ctx) => {
  const page = ctx.admin;
  const evil = '<script>window.__xss = 1</script><img src=x onerror="window.__xss = 2">';
  const j = await ctx.server.must('POST', '/api/v1/jobs',
                                  { plugin_type: 'samples.fail', data: { message: evil } }, 201);
  await until('the job to fail', async () => (await jobStatus(ctx.server, j.id)) === 'Failed');
  await go(page, `#/jobs/${j.id}`);
  await page.getByText(evil).first().waitFor();
  await go(page, '#/jobs?status=31');
  await page.locator('#jobs-table').getByText(evil).first().waitFor();
  if (await page.evaluate(() => window.__xss)) throw new Error('the message ran as code');
});

test('System jobs: the failure link of the Overview filters by error code; owner and completed-before filters', async (ctx) => {
  const page = ctx.admin;
  await go(page, '#/overview');
  const link = page.locator('#errors-table a').first();
  await link.waitFor();
  const code = (await link.innerText()).trim();
  await link.click();
  await page.getByRole('heading', { name: 'System jobs' }).waitFor();
  if ((await page.getByLabel('Error code').inputValue()) !== code) throw new Error('the filter field');
  await page.locator('#jobs-table tbody tr', { hasText: 'samples.fail' }).first().waitFor();
  const statuses = await page.locator('#jobs-table tbody td:nth-child(5)').allInnerTexts();
  if (!statuses.length || statuses.some((x) => x.trim() !== 'Failed')) throw new Error(`statuses: ${statuses}`);
  await shot(page, 'jobs-error-code');
  // owner: the maintenance jobs are system's; a bulk action on the filter is not offered with it
  await go(page, '#/jobs');
  await page.getByLabel('Owner').fill('system');
  await page.getByRole('button', { name: 'Apply' }).click();
  await page.locator('#jobs-table tbody tr', { hasText: 'asyncd.statistics' }).waitFor();
  const owners = await page.locator('#jobs-table tbody td:nth-child(8)').allInnerTexts();
  if (!owners.length || owners.some((x) => x.trim() !== 'system')) throw new Error(`owners: ${owners}`);
  await page.getByText('does not take the owner filter').waitFor();
  if (await page.getByRole('button', { name: 'On everything matching the filter' }).count())
    throw new Error('a bulk action on a filter with owner is offered');
  await go(page, '#/jobs?state=3&completed_before=2000-01-01T00:00:00Z');
  await page.locator('#jobs-table', { hasText: 'No job matches.' }).waitFor();
});

test('an action on one job: cancel a running job', async (ctx) => {
  const page = ctx.admin;
  const j = await ctx.server.must('POST', '/api/v1/jobs',
                                  { plugin_type: 'samples.sleep', data: { ms: 60000 } }, 201);
  await until('the job to run', async () => (await jobStatus(ctx.server, j.id)) === 'InProgress');
  await go(page, `#/jobs/${j.id}`);
  await page.getByRole('button', { name: 'Pause' }).waitFor(); // offered: it runs
  if (await page.getByRole('button', { name: 'Resume' }).count()) throw new Error('Resume offered');
  await page.getByRole('button', { name: 'Cancel' }).click();
  await until('the job to be canceled', async () => (await jobStatus(ctx.server, j.id)) === 'Canceled', T);
  await page.locator('dd', { hasText: /^Completed$/ }).waitFor(); // the details follow the job
  await page.locator('dd', { hasText: /^Canceled$/ }).waitFor();
  if (await page.getByRole('button', { name: 'Cancel' }).count()) throw new Error('Cancel offered when Completed');
});

test('bulk: cancel the selected jobs, and everything matching a filter (or say it needs a newer server)', async (ctx) => {
  const page = ctx.admin;
  const later = new Date(Date.now() + 3600e3).toISOString().replace(/\.\d+Z$/, 'Z');
  const ids = [];
  for (let i = 0; i < 5; i++)
    ids.push((await ctx.server.must('POST', '/api/v1/jobs', { plugin_type: 'samples.noop',
                                                             postpone_until: later }, 201)).id);
  await go(page, '#/jobs?plugin_type=samples.noop&state=1');
  for (const id of ids.slice(0, 2)) await page.getByLabel(`select job ${id}`).check();
  await page.getByRole('button', { name: 'On the 2 selected' }).click();
  await page.locator('#bulk-result', { hasText: /cancel: done 2/ }).waitFor();
  for (const id of ids.slice(0, 2))
    if ((await jobStatus(ctx.server, id)) !== 'Canceled') throw new Error(`job ${id} not canceled`);
  await page.getByRole('button', { name: 'On everything matching the filter' }).click();
  const text = await page.locator('#bulk-result', { hasText: /newer server|cancel:/ }).innerText();
  if (/cancel:/.test(text)) {
    for (const id of ids.slice(2))
      await until(`job ${id} canceled`, async () => (await jobStatus(ctx.server, id)) === 'Canceled');
  } else {
    for (const id of ids.slice(2)) // this server has no bulk endpoint: leave nothing postponed
      await ctx.server.must('POST', `/api/v1/jobs/${id}/cancel`, {});
  }
  await shot(page, 'jobs');
});

test('Services: stop async while a job runs (stop_pending → stopped), then start it (running)', async (ctx) => {
  const page = ctx.admin;
  const j = await ctx.server.must('POST', '/api/v1/jobs',
                                  { plugin_type: 'samples.sleep', data: { ms: 2500 } }, 201);
  await until('the job to run', async () => (await jobStatus(ctx.server, j.id)) === 'InProgress');
  await go(page, '#/services');
  const row = page.locator('tr[data-service="async"]');
  await row.locator('[data-status="running"]').waitFor();
  await row.getByRole('button', { name: 'Stop async', exact: true }).click();
  await row.locator('[data-status="stop_pending"]').waitFor();
  await row.getByText(/draining: \d+ running/).waitFor();
  await shot(page, 'services-stopping');
  await row.locator('[data-status="stopped"]').waitFor({ timeout: 60000 });
  await row.getByRole('button', { name: 'Start async', exact: true }).click();
  await row.locator('[data-status="running"]').waitFor();
  // Properties: the startup type
  await page.getByRole('button', { name: 'Properties' }).first().waitFor();
  await row.getByRole('button', { name: 'Properties' }).click();
  const form = page.locator('form.props');
  await form.getByLabel('Startup type').selectOption('manual');
  await form.getByRole('button', { name: 'Save' }).click();
  await row.getByText('manual').waitFor();
  await row.getByRole('button', { name: 'Properties' }).click();
  await page.locator('form.props').getByLabel('Startup type').selectOption('automatic');
  await page.locator('form.props').getByRole('button', { name: 'Save' }).click();
  await row.getByText('automatic').waitFor();
  await shot(page, 'services');
});

test('Settings: a valid change is saved and shows who made it; a bad value is refused with the reason', async (ctx) => {
  const page = ctx.admin;
  await go(page, '#/settings');
  await page.getByLabel('async.max_retries').fill('7');
  await page.getByRole('button', { name: 'Save changes' }).click();
  await page.locator('#settings-outcome', { hasText: 'Saved: async.max_retries' }).waitFor();
  await page.locator('#settings-last', { hasText: 'Last changed by alice' }).waitFor();
  await page.getByLabel('async.items_in_memory_low').fill('999999');
  await page.getByRole('button', { name: 'Save changes' }).click();
  await page.locator('#settings-outcome', { hasText: 'async.items_in_memory_high' }).waitFor();
  await shot(page, 'settings');
});

test('Users & tokens: create a user, a token shown once, revoke it', async (ctx) => {
  const page = ctx.admin;
  await go(page, '#/users');
  await page.getByLabel('Name', { exact: true }).fill('tina');
  await page.getByLabel('Reader').check();
  await page.getByRole('button', { name: 'Create user' }).click();
  await page.locator('#user-outcome', { hasText: 'User tina created' }).waitFor();
  await page.locator('#users-table', { hasText: 'tina' }).waitFor();
  await page.getByLabel('For user').selectOption('tina');
  await page.getByLabel('Token name').fill('browser');
  await page.getByRole('button', { name: 'Create token' }).click();
  const token = (await page.locator('code.token').innerText()).trim();
  if (!/^asyncd_[0-9a-f]{64}$/.test(token)) throw new Error(`token: ${token}`);
  const who = await ctx.server.api('GET', '/api/v1/whoami', undefined, token);
  if (who.status !== 200 || who.body.name !== 'tina') throw new Error(`whoami: ${who.status}`);
  await shot(page, 'users');
  const row = page.locator('#tokens-table tr', { hasText: 'browser' });
  await row.getByRole('button', { name: /Revoke/ }).click();
  await until('the token to be refused', async () =>
    (await ctx.server.api('GET', '/api/v1/whoami', undefined, token)).status === 401);
});

test('keyboard: Tab reaches a service control, focus survives the refresh, Enter opens Properties', async (ctx) => {
  const page = ctx.admin;
  await visit(page, 'services');
  await page.locator('#page h1').focus();
  const focusedIs = () => page.evaluate(() => {
    const a = document.activeElement;
    return a && a.textContent === 'Properties' && a.closest('tr') &&
      a.closest('tr').dataset.service === 'async';
  });
  let reached = false;
  for (let i = 0; i < 60 && !reached; i++) {
    await page.keyboard.press('Tab');
    reached = await focusedIs();
  }
  if (!reached) throw new Error('60 Tabs did not reach the Properties button of async');
  // the table is rebuilt every 2 s: wait for the next rebuild, the focus must still be there
  await page.evaluate(() => { window.__oldRow = document.querySelector('tr[data-service="async"]'); });
  await until('the services table to refresh', () => page.evaluate(() => !window.__oldRow.isConnected), T);
  if (!(await focusedIs())) throw new Error('the refresh took the focus away');
  await page.keyboard.press('Enter');
  await page.locator('form.props').waitFor();
  await page.locator('form.props').getByRole('button', { name: 'Close' }).click();
});

test('a Submitter lands on its jobs, may submit, and is offered nothing else', async (ctx) => {
  const page = await newPage(ctx, 'sam');
  await login(page, 'sam');
  await page.getByRole('heading', { name: 'System jobs' }).waitFor();
  await page.locator('#jobs-table').waitFor();
  if (await page.getByRole('link', { name: 'Services' }).isVisible()) throw new Error('Services offered');
  const found = (await actionButtons(page)).filter((n) => n !== 'Submit');
  if (found.length) throw new Error(`a Submitter is offered ${found.join(', ')}`);
  await page.getByRole('button', { name: 'Submit' }).waitFor();
});

test('a Reader sees every page without action buttons, and a forced POST gets 403', async (ctx) => {
  const page = ctx.reader = await newPage(ctx, 'rita');
  await login(page, 'rita');
  await page.getByRole('heading', { name: 'Overview' }).waitFor();
  for (const p of ['overview', 'services', 'jobs', 'plugins', 'settings']) {
    await visit(page, p);
    const found = await actionButtons(page);
    if (found.length) throw new Error(`${p}: a Reader is offered ${found.join(', ')}`);
  }
  if (await page.getByRole('link', { name: 'Audit' }).isVisible()) throw new Error('Audit offered');
  const forced = await page.evaluate(async () => {
    const r = await fetch('/api/v1/hosts/local/services/async/stop', { method: 'POST',
      headers: { 'Content-Type': 'application/json',
                 'X-CSRF-Token': sessionStorage.getItem('asyncd.csrf') }, body: '{}' });
    return [r.status, await r.text()];
  });
  if (forced[0] !== 403 || !forced[1].includes('needs the role'))
    throw new Error(`forced stop: ${forced[0]} ${forced[1]}`);
  await go(page, '#/services');
  await shot(page, 'services-reader');
});

test('an Operator may act on jobs but is offered no service or plug-in controls', async (ctx) => {
  const page = await newPage(ctx, 'olga');
  await login(page, 'olga');
  await go(page, '#/jobs');
  await page.getByRole('button', { name: 'On everything matching the filter' }).waitFor();
  await visit(page, 'services');
  const found = await actionButtons(page);
  if (found.length) throw new Error(`services: an Operator is offered ${found.join(', ')}`);
});

test('Audit: filter by user and result', async (ctx) => {
  const page = ctx.admin;
  await go(page, '#/audit');
  await page.locator('#audit-table').waitFor();
  await page.getByLabel('User', { exact: true }).fill('rita');
  await page.getByLabel('Result').selectOption('refused');
  await page.getByRole('button', { name: 'Apply' }).click();
  // the unfiltered table may still be shown for a moment: wait for the filtered one
  let users = [];
  await until('the audit table filtered to rita', async () => {
    users = await page.locator('#audit-table tbody td:nth-child(2)').allInnerTexts();
    return users.length > 0 && users.every((u) => u === 'rita');
  }, T).catch(() => { throw new Error(`users: ${users}`); });
  await page.locator('#audit-table', { hasText: 'services' }).waitFor();
  await shot(page, 'audit');
});

test('delete an assembly with drain and watch it finish', async (ctx) => {
  const page = ctx.admin;
  await ctx.server.must('DELETE', `/api/v1/steps/${ctx.stepId}?mode=cancel`, undefined, 204);
  const j = await ctx.server.must('POST', '/api/v1/jobs',
                                  { plugin_type: 'samples.sleep', data: { ms: 2000 } }, 201);
  await until('the job to run', async () => (await jobStatus(ctx.server, j.id)) === 'InProgress');
  await go(page, '#/plugins');
  await page.getByLabel('delete mode for assembly samples').selectOption('drain');
  await page.getByLabel('drain timeout in seconds for assembly samples').fill('600');
  await page.getByRole('button', { name: 'Delete assembly samples' }).click();
  await page.locator('[data-drain^="assemblies/"]', { hasText: /left|drained/ }).waitFor();
  const drainText = await page.locator('[data-drain^="assemblies/"]').innerText();
  if (!/drained and deleted|what is left is canceled/.test(drainText))
    throw new Error(`the drain's deadline is not shown: ${drainText}`);
  await shot(page, 'plugins-draining');
  await page.locator('[data-drain^="assemblies/"]', { hasText: 'drained and deleted' })
    .waitFor({ timeout: 30000 });
  if ((await jobStatus(ctx.server, j.id)) !== 'Succeeded') throw new Error('the job did not finish');
});

test('a maintenance job: its schedule and next occurrences, no cancel/pause/delete; the schedule changed; the last days chart', async (ctx) => {
  const page = ctx.admin;
  const all = await ctx.server.must('GET', '/api/v1/jobs?owner=system&limit=50');
  const stats = all.jobs.find((j) => j.plugin_type === 'asyncd.statistics');
  if (!stats) throw new Error('no statistics job');
  await go(page, `#/jobs/${stats.id}`);
  await page.locator('#job-pattern', { hasText: stats.recurrence_pattern }).waitFor();
  await page.locator('#next-occurrences li').nth(4).waitFor();
  await page.getByText('A maintenance job of async-maintenance').waitFor();
  for (const b of ['Cancel', 'Pause', 'Delete', 'Postpone'])
    if (await page.locator('main').getByRole('button', { name: b, exact: true }).count())
      throw new Error(`${b} offered on a maintenance job`);
  const form = page.locator('form.schedule-form');
  await form.getByLabel('Pattern (RRULE)').fill('FREQ=HOURLY;BYHOUR=25');
  await form.getByRole('button', { name: 'Change schedule' }).click();
  await page.locator('#schedule-outcome', { hasText: /refused: .*BYHOUR/ }).waitFor();
  await form.getByLabel('Pattern (RRULE)').fill('FREQ=MINUTELY');
  await form.getByRole('button', { name: 'Change schedule' }).click();
  await page.locator('#job-pattern', { hasText: /^FREQ=MINUTELY$/ }).waitFor();
  await shot(page, 'job-schedule');
  // an Operator sees the schedule of a maintenance job but may not change it
  const olga = ctx.pages.find((x) => x.who === 'olga');
  await go(olga, `#/jobs/${stats.id}`);
  await olga.locator('#job-pattern', { hasText: 'FREQ=MINUTELY' }).waitFor();
  if (await olga.getByRole('button', { name: 'Change schedule' }).count())
    throw new Error('an Operator is offered to change a maintenance schedule');
  // move asyncd's clock past the next minute: the statistics job counts the last hours
  await ctx.server.must('POST', '/api/v1/debug/clock?shift_ms=65000');
  await until('the statistics job to count', async () =>
    (await ctx.server.must('GET', '/api/v1/jobs/stats/hourly')).hours.length > 0, 60000);
  await go(page, '#/overview');
  await page.locator('#hourly-table', { hasText: 'samples.echo' }).waitFor();
  await until('the last days chart to show the succeeded jobs', () => page.evaluate(() => {
    const c = window.Chart.getChart('chart-hourly');
    return c && c.data.datasets[0].data.reduce((a, b) => a + b, 0) >= 40;
  }), T);
  await page.locator('#hosts-table [data-host="alive"]').waitFor();
  await shot(page, 'overview-last-days');
});

test('every page: no serious or critical axe-core violation, keyboard reachable, screenshot', async (ctx) => {
  const page = ctx.admin;
  const bad = [];
  for (const p of PAGES) {
    await visit(page, p);
    await shot(page, `page-${p}`);
    const violations = await page.evaluate(async (src) => {
      if (!window.axe) (0, eval)(src);
      const r = await window.axe.run(document, { resultTypes: ['violations'] });
      return r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
        .map((v) => `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map((n) => n.target).join(' ')}`);
    }, axeSource);
    bad.push(...violations.map((v) => `${p}: ${v}`));
    // every control is in the tab order (no negative tabindex, nothing clickable that is not a control)
    const unreachable = await page.evaluate(() => [...document.querySelectorAll(
      'main button, main a[href], main input, main select, main textarea')]
      .filter((e) => e.tabIndex < 0 && !e.disabled).map((e) => e.outerHTML.slice(0, 60)));
    bad.push(...unreachable.map((u) => `${p}: not reachable by keyboard: ${u}`));
  }
  // Tab from the top reaches the navigation and the page's first control
  await page.keyboard.press('Tab');
  if (bad.length) throw new Error(bad.join('\n'));
});

test('session expiry: a 401 brings the login page back; logout ends the session', async (ctx) => {
  const page = ctx.admin;
  await ctx.admin.context().clearCookies();
  await go(page, '#/jobs');
  await page.getByRole('heading', { name: 'Log in to asyncd' }).waitFor();
  await login(page, 'alice');
  await page.getByRole('heading', { name: 'Overview' }).waitFor();
  await page.getByRole('button', { name: 'Log out' }).click();
  await page.getByText('You are logged out.').waitFor();
  const after = await page.evaluate(async () => (await fetch('/api/v1/whoami')).status);
  if (after !== 401) throw new Error(`whoami after logout: ${after}`);
});

test('no Content-Security-Policy violation and no script error on any page', async (ctx) => {
  const problems = [];
  for (const page of ctx.pages) {
    for (const v of await cspViolations(page).catch(() => [])) problems.push(`${page.who}: CSP ${v}`);
    problems.push(...page.problems);
  }
  if (problems.length) throw new Error(problems.join('\n'));
});

// ---- setup ----

async function before() {
  fs.rmSync(SHOTS, { recursive: true, force: true });
  const server = new Server();
  await server.start();
  for (const [name, role] of Object.entries(USERS))
    await server.must('POST', '/api/v1/users', { name, roles: [role], password: PASSWORD }, 201);
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true,
                                          args: ['--no-sandbox', '--disable-gpu'] });
  const ctx = { server, browser, pages: [] };
  ctx.onFailure = async (name) => {
    for (const p of ctx.pages)
      await shot(p, `FAILED-${name.slice(0, 40).replace(/\W+/g, '-')}-${p.who}`).catch(() => {});
    console.log(`  # asyncd log:\n${server.logTail().replace(/^/gm, '  # ')}`);
  };
  return ctx;
}

async function after(ctx) {
  await ctx.browser.close();
  await ctx.server.stop();
  console.log(`# screenshots: ${SHOTS}`);
}

const failed = await runAll(before, after);
process.exit(failed ? 1 : 0);
