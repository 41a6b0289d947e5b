// Overview: live figures and charts. Every 2 s (paused while the tab is hidden): /metrics (the
// host's counters: processed, running, held; error codes when the server has them),
// /api/v1/hosts, and the last 20 succeeded jobs (queue wait and run time; one index page). GET /api/v1/jobs/stats counts every job (a scan on servers before issue 10), so
// it is refreshed at most every 2 s and otherwise 100 times as seldom as it takes to answer.
// The last days: GET /api/v1/jobs/stats/hourly?since= (the statistics system job's table, per
// hour, plug-in type and outcome), read at most once a minute (it changes once an hour).
import { api, apiOptional, parseMetrics } from './api.js';
import { el, errorText, field, fmtNum, fmtTime, keepFocus, note, poller, select,
         table } from './ui.js';

export const title = 'Overview';
export const needs = 'read';

const STATUSES = { 0: 'Waiting For Resources', 10: 'Waiting', 20: 'In Progress', 21: 'Pausing',
                   22: 'Canceling', 30: 'Succeeded', 31: 'Failed', 32: 'Canceled' };
const WINDOW = 1800; // points kept: one hour at one every 2 s
const OUTCOMES = [[30, 'succeeded', '#2a7d4f'], [31, 'failed', '#b02a37'], [32, 'canceled', '#8a5a00']];
const HOURLY_EVERY = 60000;

// Stacked bars: jobs completed per hour by outcome (of one plug-in type or all).
function hourlyChart(canvas) {
  if (!window.Chart) return null;
  return new window.Chart(canvas, {
    type: 'bar',
    data: { labels: [], datasets: OUTCOMES.map(([, label, color]) => ({ label, data: [],
                                                                        backgroundColor: color })) },
    options: { animation: false, responsive: true, maintainAspectRatio: false,
               scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true } } },
  });
}

// {hours: [{hour, plugin_type, status, count}]} -> the hours (every hour from since to now, so
// quiet hours show as gaps), the counts per hour and outcome, and the totals per type and outcome.
function hourlySeries(rows, since, type) {
  const start = Math.floor(since / 3600e3) * 3600e3;
  const hours = [];
  for (let t = start; t <= Date.now(); t += 3600e3) hours.push(t);
  const index = new Map(hours.map((t, i) => [t, i]));
  const series = OUTCOMES.map(() => hours.map(() => 0));
  const totals = new Map(); // type -> {30: n, 31: n, 32: n}
  for (const r of rows) {
    const o = OUTCOMES.findIndex(([st]) => st === r.status);
    if (o < 0) continue;
    const tot = totals.get(r.plugin_type) || { 30: 0, 31: 0, 32: 0 };
    tot[r.status] += r.count;
    totals.set(r.plugin_type, tot);
    const i = index.get(Date.parse(r.hour));
    if (i !== undefined && (!type || r.plugin_type === type)) series[o][i] += r.count;
  }
  return { hours, series, totals };
}

function lineChart(canvas, label, color) {
  if (!window.Chart) return null;
  return new window.Chart(canvas, {
    type: 'line',
    data: { labels: [], datasets: [{ label, data: [], borderColor: color, pointRadius: 0,
                                     tension: 0.2 }] },
    options: { animation: false, responsive: true, maintainAspectRatio: false,
               scales: { y: { beginAtZero: true } }, plugins: { legend: { display: true } } },
  });
}

function barChart(canvas) {
  if (!window.Chart) return null;
  return new window.Chart(canvas, {
    type: 'bar',
    data: { labels: Object.values(STATUSES),
            datasets: [{ label: 'jobs by status', data: [], backgroundColor: '#3b6ea8' }] },
    options: { animation: false, responsive: true, maintainAspectRatio: false,
               plugins: { legend: { display: false } } },
  });
}

function push(chart, label, ...values) {
  if (!chart) return;
  const d = chart.data;
  d.labels.push(label);
  values.forEach((v, i) => d.datasets[i].data.push(v));
  if (d.labels.length > WINDOW) {
    d.labels.shift();
    for (const ds of d.datasets) ds.data.shift();
  }
  chart.update('none');
}

function timesChart(canvas) {
  if (!window.Chart) return null;
  const line = (label, color) => ({ label, data: [], borderColor: color, pointRadius: 0 });
  return new window.Chart(canvas, {
    type: 'line',
    data: { labels: [], datasets: [line('queue wait (ms)', '#8a5a00'), line('run time (ms)', '#6f42c1')] },
    options: { animation: false, responsive: true, maintainAspectRatio: false,
               scales: { y: { beginAtZero: true } } },
  });
}

// The mean queue wait (created -> started) and run time of the last 20 succeeded jobs: one page of
// the completed-jobs index, newest first (20 rows whatever the table holds).
function meanTimes(jobs) {
  const ms = (a, b) => (a && b ? Date.parse(b) - Date.parse(a) : NaN);
  const waits = jobs.map((j) => ms(j.created_on, j.started_on)).filter((x) => x >= 0);
  const runs = jobs.map((j) => j.execution_time_ms ?? ms(j.started_on, j.completed_on))
    .filter((x) => x >= 0);
  const mean = (v) => (v.length ? Math.round(v.reduce((a, b) => a + b, 0) / v.length) : 0);
  return [mean(waits), mean(runs)];
}

function figure(id, label) {
  return el('div.figure', el('span.label', label), el('span.value', { id }, '–'));
}

export function render(root, ctx) {
  const status = el('div', { 'aria-live': 'polite' });
  const hostsBox = el('div');
  const errorsBox = el('div');
  const canvas = (id, label) => el('canvas', { id, role: 'img', 'aria-label': label });
  const rateCanvas = canvas('chart-rate', 'jobs processed per second, live');
  const runCanvas = canvas('chart-running', 'jobs running and held, live');
  const backlogCanvas = canvas('chart-backlog', 'jobs by status');
  const timesCanvas = canvas('chart-times', 'queue wait and run time of the last succeeded jobs');
  const hourlyCanvas = canvas('chart-hourly', 'jobs completed per hour by outcome, last days');
  const hourlyBox = el('div');
  const daysSel = select([['1', 'last 24 hours'], ['3', 'last 3 days'], ['7', 'last 7 days']], '1',
                         { onchange: () => { hourlyAt = 0; p.now(); } });
  const typeSel = select([['', 'every plug-in type']], '', {
    onchange: () => { hourlyAt = 0; p.now(); } });
  root.append(
    el('h1', 'Overview'), status,
    el('div.figures', figure('fig-rate', 'processed / s'), figure('fig-running', 'running'),
       figure('fig-held', 'held in memory'), figure('fig-processed', 'processed since start'),
       figure('fig-ready', 'waiting'), figure('fig-failed', 'failed'),
       figure('fig-wait', 'queue wait (last 20)'), figure('fig-hosts', 'hosts alive')),
    el('div.charts',
       el('div.chart', el('h2', 'Processed per second'), el('div.canvas', rateCanvas)),
       el('div.chart', el('h2', 'Running'), el('div.canvas', runCanvas)),
       el('div.chart', el('h2', 'Jobs by status'), el('div.canvas', backlogCanvas)),
       el('div.chart', el('h2', 'Queue wait and run time (last 20 succeeded)'),
          el('div.canvas', timesCanvas))),
    el('section.card', { 'aria-label': 'Last days' },
       el('h2', 'Last days: jobs completed per hour'),
       el('div.filters', field('Period', daysSel), field('Plug-in type', typeSel)),
       el('div.chart.wide', el('div.canvas', hourlyCanvas)), hourlyBox),
    el('h2', 'Hosts'), hostsBox,
    el('h2', 'Failures by error code'), errorsBox);
  if (!window.Chart) status.append(note('Chart.js did not load: figures only.', 'error'));
  const rate = lineChart(rateCanvas, 'processed / s', '#2a7d4f');
  const running = lineChart(runCanvas, 'running', '#3b6ea8');
  const backlog = barChart(backlogCanvas);
  const times = timesChart(timesCanvas);
  const hourly = hourlyChart(hourlyCanvas);
  let hourlyAt = 0;
  let mine = {}; // this host's figures from /metrics, for its row of the hosts table
  let last = null;
  let statsAt = 0;
  let statsEvery = 2000;
  const set = (id, v) => { const n = document.getElementById(id); if (n) n.textContent = v; };

  async function metrics() {
    const text = await api('GET', '/metrics');
    const { plain, labelled } = parseMetrics(text);
    const now = Date.now();
    const processed = plain.asyncd_jobs_processed_total || 0;
    if (last && now > last.at) {
      const perSec = Math.max(0, (processed - last.processed) * 1000 / (now - last.at));
      set('fig-rate', perSec.toFixed(1));
      push(rate, new Date(now).toLocaleTimeString(), Number(perSec.toFixed(2)));
    }
    last = { at: now, processed };
    set('fig-running', fmtNum(plain.asyncd_jobs_running));
    set('fig-held', fmtNum(plain.asyncd_jobs_held));
    set('fig-processed', fmtNum(processed));
    mine = { processed, running: plain.asyncd_jobs_running, held: plain.asyncd_jobs_held };
    push(running, new Date(now).toLocaleTimeString(), plain.asyncd_jobs_running || 0);
    errorsBox.replaceChildren(failuresByCode(labelled));
  }

  async function stats() {
    if (Date.now() - statsAt < statsEvery) return;
    const t0 = performance.now();
    const s = await api('GET', '/api/v1/jobs/stats');
    statsEvery = Math.max(2000, 100 * (performance.now() - t0));
    statsAt = Date.now();
    const by = s.by_status || {};
    set('fig-ready', fmtNum((by['0'] || 0) + (by['10'] || 0)));
    set('fig-failed', fmtNum(by['31'] || 0));
    if (backlog) {
      backlog.data.datasets[0].data = Object.keys(STATUSES).map((k) => by[k] || 0);
      backlog.update('none');
    }
  }

  async function timings() {
    const r = await api('GET', '/api/v1/jobs?state=3&status=30&limit=20');
    const [wait, run] = meanTimes(r.jobs || []);
    set('fig-wait', `${fmtNum(wait)} ms`);
    push(times, new Date().toLocaleTimeString(), wait, run);
  }

  // Runs that failed (terminal) since this process started, per error code, from
  // asyncd_job_outcomes_total{outcome="failed"} summed over the plug-in types.
  function failuresByCode(labelled) {
    const by = new Map();
    for (const s of labelled) {
      if (s.name !== 'asyncd_job_outcomes_total' || s.labels.outcome !== 'failed') continue;
      by.set(s.labels.error_code, (by.get(s.labels.error_code) || 0) + s.value);
    }
    const rows = [...by.entries()].filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1]);
    return el('div',
      table([{ label: 'error code', value: ([code]) => el('a', {
                 href: `#/jobs?state=3&status=31&error_code=${encodeURIComponent(code)}`,
                 'aria-label': `failed jobs with error code ${code}` }, code) },
             { label: 'failed runs since start', value: ([, n]) => fmtNum(n) }], rows,
            { id: 'errors-table', empty: 'No failure since this host started.' }),
      el('p', el('a', { href: '#/jobs?state=3&status=31' }, 'All failed jobs'),
         ' (the codes above counted on this host since its start; _other gathers codes past the ' +
         'first 31).'));
  }

  async function lastDays() {
    if (Date.now() - hourlyAt < HOURLY_EVERY) return;
    hourlyAt = Date.now();
    const since = Date.now() - Number(daysSel.value) * 86400e3;
    const iso = new Date(since).toISOString().replace(/\.\d+Z$/, 'Z');
    const r = await apiOptional(`/api/v1/jobs/stats/hourly?since=${encodeURIComponent(iso)}`);
    if (!r) {
      hourlyBox.replaceChildren(note('This server keeps no hourly statistics.'));
      return;
    }
    const { hours, series, totals } = hourlySeries(r.hours || [], since, typeSel.value);
    const known = [...totals.keys()].sort();
    if (known.join() !== [...typeSel.options].slice(1).map((o) => o.value).join()) {
      const chosen = typeSel.value;
      typeSel.replaceChildren(el('option', { value: '' }, 'every plug-in type'),
        ...known.map((t) => el('option', { value: t, selected: t === chosen }, t)));
    }
    if (hourly) {
      hourly.data.labels = hours.map((t) => {
        const d = new Date(t);
        return `${d.toLocaleDateString(undefined, { month: 'short', day: 'numeric' })} ` +
               `${String(d.getHours()).padStart(2, '0')}:00`;
      });
      hourly.data.datasets.forEach((ds, i) => { ds.data = series[i]; });
      hourly.update('none');
    }
    keepFocus(hourlyBox, () => hourlyBox.replaceChildren(table([
      { label: 'plug-in type', value: ([t]) => t },
      ...OUTCOMES.map(([st, label]) => ({ label, value: ([, c]) => fmtNum(c[st]) })),
    ], [...totals.entries()].sort(), { id: 'hourly-table',
      caption: `Completed per plug-in type and outcome, ${daysSel.selectedOptions[0].text} ` +
               '(counted by the statistics job every hour)',
      empty: 'Nothing counted yet: the statistics job counts at 5 past each hour.' })));
  }

  async function hosts() {
    const h = await apiOptional('/api/v1/hosts');
    if (!h) return;
    const list = h.hosts || [];
    const alive = list.filter((x) => x.alive !== false).length;
    set('fig-hosts', `${alive} of ${list.length}`);
    const here = (x, k) => (x.this_host ? fmtNum(mine[k]) : '–');
    hostsBox.replaceChildren(table([
      { label: 'host', value: (x) => x.id },
      { label: 'status', value: (x) => el('span', { class: `host ${x.status || ''}`,
                                                   dataset: { host: x.status || '' } },
                                          x.status || (x.alive === false ? 'dead' : 'alive')) },
      { label: 'this host', value: (x) => (x.this_host ? 'yes' : '') },
      { label: 'version', value: (x) => x.version || '–' },
      { label: 'last heartbeat', value: (x) => fmtTime(x.last_heartbeat) },
      { label: 'async service', value: (x) => {
          const s = (x.services || []).find((v) => v.name === 'async');
          return s ? s.status : '–';
        } },
      { label: 'processed since start', value: (x) => here(x, 'processed') },
      { label: 'running', value: (x) => here(x, 'running') },
      { label: 'held', value: (x) => here(x, 'held') },
    ], list, { id: 'hosts-table',
      caption: 'Processed, running and held are this host\'s /metrics; another host exports ' +
               'its own at its address.' }));
  }

  const p = poller(async () => {
    try {
      await metrics(); // first: the hosts table shows this host's figures
      await Promise.all([stats(), hosts(), timings(), lastDays()]);
      status.replaceChildren();
    } catch (e) {
      status.replaceChildren(note(errorText(e), 'error'));
    }
  }, 2000);
  return () => {
    p.stop();
    for (const c of [rate, running, backlog, times, hourly]) if (c) c.destroy();
  };
}
