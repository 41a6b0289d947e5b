// System jobs: the list (GET /api/v1/jobs, newest first, filters state/status/plugin_type/step_id/
// error_code/completed_before/owner, paged by the server's keyset cursor: never counted), a job's details (GET /api/v1/jobs/ID: data,
// output, trace, attempts), actions on one job (POST /api/v1/jobs/ID/ACTION, DELETE) and bulk
// actions: on the selection (POST /api/v1/jobs/bulk {action, ids}, or one request per job when
// the server has no bulk endpoint) or on everything matching the filter (POST /api/v1/jobs/bulk
// {action, filter}; needs a server that has it). A recurring job's schedule is shown and changed
// with PATCH /api/v1/jobs/ID; maintenance jobs (owner system) offer no action but that.
// Submitting a job: POST /api/v1/jobs.
import { api, ApiError } from './api.js';
import { button, clear, el, errorText, field, fmtTime, keepFocus, note, poller, pre, select,
         table, toast } from './ui.js';

export const title = 'System jobs';
export const needs = 'any';

const STATES = [['', 'any state'], ['0', 'Ready'], ['1', 'Suspended'], ['2', 'Locked'],
                ['3', 'Completed']];
const STATUSES = [['', 'any status'], ['0', 'Waiting For Resources'], ['10', 'Waiting'],
                  ['20', 'In Progress'], ['21', 'Pausing'], ['22', 'Canceling'],
                  ['30', 'Succeeded'], ['31', 'Failed'], ['32', 'Canceled']];
const ONE_ACTIONS = ['cancel', 'pause', 'resume', 'retry'];
const BULK_ACTIONS = ['cancel', 'retry', 'resume', 'delete'];
// The actions a job's state allows (the API's rules, job_action_allowed): others are not offered.
const ALLOWED = {
  cancel: (j) => j.state !== 3,
  pause: (j) => j.state === 2,
  resume: (j) => j.state === 1,
  postpone: (j) => j.state === 0 || j.state === 2,
  retry: (j) => j.state === 3 && j.status === 31,
};
const PAGE_SIZES = ['25', '50', '100', '200'];
const FILTER_KEYS = ['state', 'status', 'plugin_type', 'step_id', 'error_code', 'completed_before',
                     'owner', 'limit'];
// The maintenance jobs every deployment has (docs/system-jobs.md): no action but their schedule.
const isMaintenance = (j) => j.owner === 'system' && !!j.recurrence_pattern;

export function render(root, ctx) {
  if (ctx.arg) return details(root, ctx, ctx.arg);
  return list(root, ctx);
}

function filterFrom(query) {
  const f = {};
  for (const k of FILTER_KEYS)
    if (query.get(k)) f[k] = query.get(k);
  return f;
}

function list(root, ctx) {
  const filter = filterFrom(ctx.query);
  const status = el('div', { 'aria-live': 'polite' });
  const listBox = el('div');
  const pager = el('div.pager');
  const bulkBox = el('div.bulk');
  const selected = new Set();
  const bulkResult = el('p', { role: 'status', id: 'bulk-result' });
  let cursors = [null]; // the cursor of each page seen, for Previous
  let page = 0;
  let rows = [];
  let sortKey = null;
  let sortDir = 1;

  const stateSel = select(STATES, filter.state || '', { name: 'state' });
  const statusSel = select(STATUSES, filter.status || '', { name: 'status' });
  const typeIn = el('input', { name: 'plugin_type', value: filter.plugin_type || '',
                               placeholder: 'samples.echo' });
  const stepIn = el('input', { name: 'step_id', value: filter.step_id || '', inputmode: 'numeric',
                               pattern: '[0-9]*' });
  const codeIn = el('input', { name: 'error_code', value: filter.error_code || '',
                               placeholder: 'plugin_failed' });
  const beforeIn = el('input', { name: 'completed_before', type: 'datetime-local',
                                 value: localInput(filter.completed_before) });
  const ownerIn = el('input', { name: 'owner', value: filter.owner || '', placeholder: 'alice' });
  const limitSel = select(PAGE_SIZES, filter.limit || '50', { name: 'limit' });
  const form = el('form.filters.card', { 'aria-label': 'Filter jobs' },
    field('State', stateSel), field('Status', statusSel), field('Plug-in type', typeIn),
    field('Step id', stepIn), field('Error code', codeIn), field('Completed before', beforeIn),
    ctx.can.read ? field('Owner', ownerIn) : null, field('Page size', limitSel),
    el('button', { type: 'submit' }, 'Apply'));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const q = new URLSearchParams();
    for (const [k, v] of [['state', stateSel.value], ['status', statusSel.value],
                          ['plugin_type', typeIn.value.trim()], ['step_id', stepIn.value.trim()],
                          ['error_code', codeIn.value.trim()],
                          ['completed_before', beforeIn.value ? rfc3339(beforeIn.value) : ''],
                          ['owner', ctx.can.read ? ownerIn.value.trim() : ''],
                          ['limit', limitSel.value]])
      if (v) q.set(k, v);
    location.hash = `#/jobs?${q}`;
  });
  root.append(el('h1', 'System jobs'), status, form,
              ctx.can.submit ? submitForm(() => load()) : null, bulkBox, listBox, pager);

  function query(cursor) {
    const q = new URLSearchParams(filter);
    if (cursor) q.set('cursor', cursor);
    return q;
  }

  async function load() {
    try {
      const r = await api('GET', `/api/v1/jobs?${query(cursors[page])}`);
      rows = r.jobs || [];
      if (r.next_cursor) cursors[page + 1] = r.next_cursor;
      else cursors = cursors.slice(0, page + 1);
      show();
      status.replaceChildren();
    } catch (e) {
      status.replaceChildren(note(errorText(e), 'error'));
    }
  }

  function sorted() {
    if (!sortKey) return rows;
    return [...rows].sort((a, b) => {
      const x = sortKey.sort(a); const y = sortKey.sort(b);
      return (x < y ? -1 : x > y ? 1 : 0) * sortDir;
    });
  }

  function show() {
    const cols = [];
    if (ctx.can.ops)
      cols.push({ label: 'select', value: (j) => el('input', {
        type: 'checkbox', checked: selected.has(j.id), 'aria-label': `select job ${j.id}`,
        onchange: (ev) => { if (ev.target.checked) selected.add(j.id); else selected.delete(j.id);
                            showBulk(); } }) });
    cols.push(
      { label: 'id', sort: (j) => j.id, value: (j) => el('a', { href: `#/jobs/${j.id}` }, j.id) },
      { label: 'type', sort: (j) => j.plugin_type || '', value: (j) => j.plugin_type || '–' },
      { label: 'state', sort: (j) => j.state, value: (j) => j.state_name },
      { label: 'status', sort: (j) => j.status,
        value: (j) => el('span', { class: `status js-${j.status}` }, j.status_name) },
      { label: 'message', sort: (j) => j.message_name || '', value: (j) => j.message_name || '' },
      { label: 'error', sort: (j) => j.error_code || '',
        value: (j) => [j.error_code || '', j.message ? el('div.msg', j.message) : null] },
      { label: 'owner', sort: (j) => j.owner || '', value: (j) => j.owner || '' },
      { label: 'created', sort: (j) => j.created_on || '', value: (j) => fmtTime(j.created_on) });
    listBox.replaceChildren(table(cols, sorted(), {
      id: 'jobs-table', caption: `Page ${page + 1}, newest first (click a heading to sort ` +
                                 'this page)',
      empty: 'No job matches.',
      onSort: (c) => { sortDir = sortKey === c ? -sortDir : 1; sortKey = c; show(); } }));
    pager.replaceChildren(
      el('button', { type: 'button', disabled: page === 0, onclick: () => { page--; load(); } },
         'Previous page'),
      el('span', ` page ${page + 1} `),
      el('button', { type: 'button', disabled: !cursors[page + 1],
                     onclick: () => { page++; load(); } }, 'Next page'),
      el('button', { type: 'button', onclick: load }, 'Refresh'));
    showBulk();
  }

  function showBulk() {
    if (!ctx.can.ops) return;
    const action = select(BULK_ACTIONS, 'cancel', { 'aria-label': 'bulk action' });
    const result = bulkResult;
    bulkBox.replaceChildren(el('div.card',
      field('Bulk action', action),
      el('button', { type: 'button', disabled: selected.size === 0,
                     onclick: () => bulk(action.value, { ids: [...selected] }, result) },
         `On the ${selected.size} selected`),
      filter.owner
        ? el('small', 'A bulk action on everything matching the filter does not take the owner ' +
                      'filter: select the jobs, or filter without owner.')
        : el('button', { type: 'button', class: 'danger',
                         onclick: () => bulk(action.value, { filter: bulkFilter() }, result) },
             'On everything matching the filter'),
      result));
  }

  function bulkFilter() {
    const f = {};
    for (const k of ['state', 'status', 'step_id']) if (filter[k]) f[k] = Number(filter[k]);
    for (const k of ['plugin_type', 'error_code', 'completed_before']) if (filter[k]) f[k] = filter[k];
    return f;
  }

  async function bulk(action, what, result) {
    result.textContent = 'working…';
    try {
      const r = await api('POST', '/api/v1/jobs/bulk', { action, ...what });
      result.textContent = `${action}: ${countsText(r)}`;
    } catch (e) {
      if (e.status !== 404 && e.status !== 405) {
        result.textContent = errorText(e);
        return;
      }
      if (!what.ids) {
        result.textContent = 'Bulk actions on everything matching a filter need a newer server ' +
                             '(POST /api/v1/jobs/bulk).';
        return;
      }
      result.textContent = `${action}: ${countsText(await oneByOne(action, what.ids))} ` +
                           '(one request per job: this server has no bulk endpoint)';
    }
    selected.clear();
    load();
  }

  load();
  return null;
}

// An RFC 3339 time (UTC, whole seconds) from a datetime-local value, and back.
function rfc3339(local) {
  return new Date(local).toISOString().replace(/\.\d+Z$/, 'Z');
}
function localInput(iso) {
  const d = iso ? new Date(iso) : null;
  if (!d || isNaN(d)) return '';
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:` +
         `${p(d.getMinutes())}`;
}

const COUNT_ORDER = ['done', 'not_allowed', 'not_found', 'failed', 'matched'];

function countsText(r) {
  if (!r || typeof r !== 'object') return 'done';
  if (r.job_id) // a large set runs as a system job with its progress as output
    return `running as system job ${r.job_id} (at least ${r.matched_at_least} jobs); ` +
           'its output shows the progress';
  const src = r.counts && typeof r.counts === 'object' ? r.counts : r;
  const rank = (k) => (COUNT_ORDER.indexOf(k) < 0 ? COUNT_ORDER.length : COUNT_ORDER.indexOf(k));
  const parts = Object.entries(src).filter(([, v]) => typeof v === 'number')
    .sort(([a], [b]) => rank(a) - rank(b))
    .map(([k, v]) => `${k.replace(/_/g, ' ')} ${v}`);
  return parts.length ? parts.join(', ') : 'done';
}

async function oneByOne(action, ids) {
  const counts = { done: 0, not_allowed: 0, failed: 0 };
  for (const id of ids) {
    try {
      if (action === 'delete') await api('DELETE', `/api/v1/jobs/${id}`);
      else await api('POST', `/api/v1/jobs/${id}/${action}`, {});
      counts.done++;
    } catch (e) {
      if (e.status === 409) counts.not_allowed++;
      else counts.failed++;
    }
  }
  return counts;
}

function submitForm(done) {
  const type = el('input', { name: 'plugin_type', required: true, placeholder: 'samples.echo' });
  const data = el('textarea', { name: 'data', rows: 2, placeholder: '{"any": "JSON"}' });
  const msg = el('p', { role: 'status' });
  const form = el('form.card.submit', { 'aria-label': 'Submit a job' },
    el('h2', 'Submit a job'), field('Plug-in type', type), field('Data (JSON, optional)', data),
    el('button', { type: 'submit' }, 'Submit'), msg);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const body = { plugin_type: type.value.trim() };
    if (data.value.trim()) {
      try { body.data = JSON.parse(data.value); } catch (e) {
        msg.textContent = `The data is not JSON: ${e.message}`;
        return;
      }
    }
    try {
      const r = await api('POST', '/api/v1/jobs', body);
      msg.textContent = `Job ${r.id} submitted.`;
      done();
    } catch (e) {
      msg.textContent = errorText(e);
    }
  });
  return form;
}

function details(root, ctx, id) {
  const status = el('div', { 'aria-live': 'polite' });
  const body = el('div');
  root.append(el('p', el('a', { href: '#/jobs' }, '← all jobs')),
              el('h1', `Job ${id}`), status, body);

  let untilValue = ''; // kept across the refreshes
  const sched = { pattern: null, zone: null, start: '' }; // the schedule form's values, likewise

  // A recurring job's schedule: pattern, zone, start, the next occurrences; a form to change it
  // (PATCH /api/v1/jobs/ID) for an Operator, or for a System Administrator on a maintenance job.
  function schedule(j) {
    if (!j.recurrence_pattern) return null;
    const mayEdit = isMaintenance(j) ? ctx.can.admin : ctx.can.ops;
    const next = j.next_occurrences || [];
    const box = el('section.card.schedule', { 'aria-label': 'Schedule' },
      el('h2', 'Schedule'),
      el('dl.facts', el('dt', 'pattern'), el('dd', { id: 'job-pattern' }, j.recurrence_pattern),
         el('dt', 'time zone'), el('dd', j.recurrence_timezone || 'UTC'),
         el('dt', 'start'), el('dd', fmtTime(j.recurrence_start_time))),
      el('h3', 'Next occurrences'),
      next.length ? el('ol#next-occurrences', next.map((t) => el('li', { title: t }, fmtTime(t))))
                  : el('p', 'none (the job is finished or the rule has no more)'));
    if (!mayEdit || j.state === 3) return box;
    const pattern = el('input', { name: 'recurrence_pattern', required: true,
                                  value: sched.pattern ?? j.recurrence_pattern,
                                  oninput: (ev) => { sched.pattern = ev.target.value; } });
    const zone = el('input', { name: 'recurrence_timezone', placeholder: 'UTC',
                               value: sched.zone ?? (j.recurrence_timezone || 'UTC'),
                               oninput: (ev) => { sched.zone = ev.target.value; } });
    const start = el('input', { name: 'recurrence_start_time', type: 'datetime-local',
                                value: sched.start,
                                oninput: (ev) => { sched.start = ev.target.value; } });
    const out = el('p', { role: 'status', id: 'schedule-outcome' });
    const form = el('form.schedule-form', { 'aria-label': 'Change the schedule' },
      field('Pattern (RRULE)', pattern, 'e.g. FREQ=HOURLY;BYMINUTE=5'), field('Time zone', zone),
      field('Start (empty: now)', start), el('button', { type: 'submit' }, 'Change schedule'), out);
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const body = { recurrence_pattern: pattern.value.trim() };
      if (zone.value.trim()) body.recurrence_timezone = zone.value.trim();
      if (start.value) body.recurrence_start_time = rfc3339(start.value);
      try {
        await api('PATCH', `/api/v1/jobs/${encodeURIComponent(id)}`, body);
        sched.pattern = null; sched.zone = null; sched.start = '';
        toast(`Job ${id}: schedule changed`);
        await load();
        document.getElementById('schedule-outcome').textContent = 'Schedule changed.';
      } catch (e) {
        out.textContent = `refused: ${errorText(e)}`;
      }
    });
    box.append(form);
    return box;
  }
  async function act(action, extra) {
    try {
      if (action === 'delete') {
        await api('DELETE', `/api/v1/jobs/${encodeURIComponent(id)}`);
        toast(`Job ${id} deleted`);
        location.hash = '#/jobs';
        return;
      }
      await api('POST', `/api/v1/jobs/${encodeURIComponent(id)}/${action}`, extra || {});
      toast(`Job ${id}: ${action} done`);
    } catch (e) {
      toast(errorText(e), 'error');
    }
    load();
  }

  function actions(j) {
    if (!ctx.can.ops) return null;
    if (isMaintenance(j))
      return note('A maintenance job of async-maintenance: it cannot be canceled, paused or ' +
                  'deleted; a System Administrator may change its schedule (below).');
    const until = el('input', { type: 'datetime-local', 'aria-label': 'postpone until',
                                value: untilValue,
                                oninput: (ev) => { untilValue = ev.target.value; } });
    const can = (a) => ALLOWED[a](j);
    return el('div.actions.card',
      ONE_ACTIONS.filter(can).map((a) => button(a[0].toUpperCase() + a.slice(1), () => act(a))),
      can('postpone') ? [until, button('Postpone', () => {
        if (!until.value) { toast('Choose a time to postpone to.', 'error'); return; }
        act('postpone', { until: new Date(until.value).toISOString().replace(/\.\d+Z$/, 'Z') });
      })] : null,
      button('Delete', () => act('delete'), { danger: true }));
  }

  async function load() {
    try {
      const j = await api('GET', `/api/v1/jobs/${encodeURIComponent(id)}`);
      finished = j.state === 3 && !j.recurrence_pattern;
      const facts = [['type', j.plugin_type], ['state', j.state_name], ['status', j.status_name],
        ['message', j.message_name], ['entity', j.primary_entity], ['step', j.step_id],
        ['owner', j.owner], ['host', j.host_id], ['attempt', j.attempt],
        ['retries', `${j.retry_count} of ${j.max_retries}`], ['priority', j.priority],
        ['error code', j.error_code], ['error message', j.message],
        ['created', fmtTime(j.created_on)], ['started', fmtTime(j.started_on)],
        ['completed', fmtTime(j.completed_on)], ['postponed until', fmtTime(j.postpone_until)],
        ['run time (ms)', j.execution_time_ms], ['correlation id', j.correlation_id]];
      keepFocus(body, () => body.replaceChildren(
        actions(j),
        schedule(j),
        el('dl.facts', facts.flatMap(([k, v]) => [el('dt', k),
                                                  el('dd', v === null || v === undefined ? '–'
                                                                                          : v)])),
        el('h2', 'Data'), pre(j.data), el('h2', 'Output'), pre(j.output),
        el('h2', 'Trace'), pre(j.trace),
        el('h2', 'Attempt history'),
        table([{ label: 'attempt', value: (a) => a.attempt },
               { label: 'host', value: (a) => a.host_id || '' },
               { label: 'started', value: (a) => fmtTime(a.started_on) },
               { label: 'ended', value: (a) => fmtTime(a.ended_on) },
               { label: 'outcome', value: (a) => a.outcome || '' },
               { label: 'error', value: (a) => [a.error_code || '', a.message ? el('div.msg', a.message) : null] },
               { label: 'trace', value: (a) => (a.trace ? pre(a.trace) : '') }],
              j.attempts || [], { empty: 'No earlier attempt recorded.' })));
      status.replaceChildren();
    } catch (e) {
      clear(body);
      status.replaceChildren(note(e instanceof ApiError && e.status === 404
        ? `There is no job ${id} (or it is not yours).` : errorText(e), 'error'));
    }
  }
  // live while the job is unfinished (one read by id every 2 s), still once it is Completed
  let finished = false;
  const p = poller(async () => {
    if (!finished && !body.querySelector('input:focus')) await load();
  }, 2000);
  return () => p.stop();
}
