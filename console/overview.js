// Overview: live figures and charts. Every 2 s (paused while the tab is hidden): /metrics (the
// host's counters: processed, running, held; error codes when the server has them),
// /api/v1/hosts, and the last 20 succeeded jobs (queue wait and run time; one index page). GET /api/v1/jobs/stats counts every job (a scan on servers before issue 10), so
// it is refreshed at most every 2 s and otherwise 100 times as seldom as it takes to answer.
import { api, apiOptional, parseMetrics } from './api.js';
import { el, errorText, fmtNum, note, poller, table } from './ui.js';

export const title = 'Overview';
export const needs = 'read';

const STATUSES = { 0: 'Waiting For Resources', 10: 'Waiting', 20: 'In Progress', 21: 'Pausing',
                   22: 'Canceling', 30: 'Succeeded', 31: 'Failed', 32: 'Canceled' };
const WINDOW = 1800; // points kept: one hour at one every 2 s

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
  root.append(
    el('h1', 'Overview'), status,
    el('div.figures', figure('fig-rate', 'processed / s'), figure('fig-running', 'running'),
       figure('fig-held', 'held in memory'), figure('fig-processed', 'processed since start'),
       figure('fig-ready', 'waiting'), figure('fig-failed', 'failed'),
       figure('fig-wait', 'queue wait (last 20)')),
    el('div.charts',
       el('div.chart', el('h2', 'Processed per second'), el('div.canvas', rateCanvas)),
       el('div.chart', el('h2', 'Running'), el('div.canvas', runCanvas)),
       el('div.chart', el('h2', 'Jobs by status'), el('div.canvas', backlogCanvas)),
       el('div.chart', el('h2', 'Queue wait and run time (last 20 succeeded)'),
          el('div.canvas', timesCanvas))),
    el('h2', 'Hosts'), hostsBox,
    el('h2', 'Failures by error code'), errorsBox);
  if (!window.Chart) status.append(note('Chart.js did not load: figures only.', 'error'));
  const rate = lineChart(rateCanvas, 'processed / s', '#2a7d4f');
  const running = lineChart(runCanvas, 'running', '#3b6ea8');
  const backlog = barChart(backlogCanvas);
  const times = timesChart(timesCanvas);
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
    push(running, new Date(now).toLocaleTimeString(), plain.asyncd_jobs_running || 0);
    const byCode = labelled.filter((s) => s.labels.error_code !== undefined);
    errorsBox.replaceChildren(byCode.length
      ? table([{ label: 'error code', value: (s) => el('a', {
                   href: `#/jobs?status=31&error_code=${encodeURIComponent(s.labels.error_code)}`
                 }, s.labels.error_code) },
               { label: 'count', value: (s) => fmtNum(s.value) }], byCode)
      : el('p', 'This server does not count failures by error code yet (a newer server does); ',
           el('a', { href: '#/jobs?status=31' }, 'see the failed jobs'), '.'));
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

  async function hosts() {
    const h = await apiOptional('/api/v1/hosts');
    if (!h) return;
    hostsBox.replaceChildren(table([
      { label: 'host', value: (x) => x.id },
      { label: 'alive', value: (x) => (x.alive === false ? 'dead' : 'alive') },
      { label: 'this host', value: (x) => (x.this_host ? 'yes' : '') },
      { label: 'async service', value: (x) => {
          const s = (x.services || []).find((v) => v.name === 'async');
          return s ? s.status : '–';
        } },
    ], h.hosts || [], { id: 'hosts-table' }));
  }

  const p = poller(async () => {
    try {
      await Promise.all([metrics(), stats(), hosts(), timings()]);
      status.replaceChildren();
    } catch (e) {
      status.replaceChildren(note(errorText(e), 'error'));
    }
  }, 2000);
  return () => {
    p.stop();
    for (const c of [rate, running, backlog, times]) if (c) c.destroy();
  };
}
