// How long the console's pages take to show their data with a large job table (docs/console.md,
// "Load times"). Not a test and not run by meson: run it by hand, alone on the machine.
//   ASYNCD_BUILD_DIR=build COMPLETED=1000000 QUEUED=100000 node tests/browser/measure.mjs
// It starts asyncd once to create its database and users, stops it, fills the jobs table with
// sqlite3 (COMPLETED Succeeded rows, QUEUED rows postponed by a day), starts it again and times,
// for each page, the navigation until the page's data is shown (median of RUNS), and
// GET /api/v1/jobs/stats alone.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { createRequire } from 'node:module';
import { CHROMIUM, PASSWORD, Server } from './lib.mjs';

const require = createRequire(import.meta.url);
const { chromium } = require('playwright-core');
const COMPLETED = Number(process.env.COMPLETED || 1000000);
const QUEUED = Number(process.env.QUEUED || 100000);
const RUNS = Number(process.env.RUNS || 5);
const READY = { overview: '#hosts-table', services: 'tr[data-service="async"]',
                jobs: '#jobs-table tbody tr', plugins: '#steps-table', settings: 'form.settings input',
                audit: '#audit-table', users: '#tokens-table' };

function fill(db) {
  const now = Date.now();
  const cols = 'name, operation_type, state, status, plugin_type, max_retries, created_on,' +
               ' started_on, completed_on, modified_on, execution_time_ms, postpone_until, priority';
  const sql = `BEGIN;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${COMPLETED})
INSERT INTO jobs(${cols}) SELECT 'samples.noop', 10, 3, 30, 'samples.noop', 10, ${now} - i,
  ${now} - i + 1, ${now} - i + 2, ${now} - i + 2, 1, NULL, 5 FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${QUEUED})
INSERT INTO jobs(${cols}) SELECT 'samples.noop', 10, 1, 10, 'samples.noop', 10, ${now},
  NULL, NULL, ${now}, NULL, ${now} + 86400000, 5 FROM n;
COMMIT;`;
  execFileSync('sqlite3', [db], { input: sql, stdio: ['pipe', 'inherit', 'inherit'] });
}

const median = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];

const again = new Server();
await again.start();
await again.must('POST', '/api/v1/users', { name: 'alice', roles: ['System Administrator'],
                                            password: PASSWORD }, 201);
await again.stop({ keep: true });
const t0 = Date.now();
fill(path.join(again.dir, 'asyncd.db'));
console.log(`filled ${COMPLETED} completed + ${QUEUED} queued rows in ${Date.now() - t0} ms`);
await again.start(again.dir);
const stats = [];
for (let i = 0; i < RUNS; i++) {
  const s = Date.now();
  await again.must('GET', '/api/v1/jobs/stats');
  stats.push(Date.now() - s);
}
console.log(`GET /api/v1/jobs/stats: median ${median(stats)} ms (${stats.join(', ')})`);
const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true,
                                        args: ['--no-sandbox', '--disable-gpu'] });
const page = await (await browser.newContext({ baseURL: again.url })).newPage();
page.setDefaultTimeout(120000);
await page.goto('/');
await page.getByLabel('User name').fill('alice');
await page.getByLabel('Password').fill(PASSWORD);
await page.getByRole('button', { name: 'Log in' }).click();
await page.locator('#hosts-table').waitFor();
for (const [name, sel] of Object.entries(READY)) {
  const times = [];
  for (let i = 0; i < RUNS; i++) {
    await page.goto('about:blank');
    const s = Date.now(); // a full load: the page, its scripts, Chart.js, whoami, the data
    await page.goto(`/#/${name}`);
    await page.locator(`#page ${sel}`).first().waitFor();
    times.push(Date.now() - s);
  }
  console.log(`${name}: median ${median(times)} ms (${times.join(', ')})`);
}
await browser.close();
await again.stop();
