// Services: per host (GET /api/v1/hosts), each service's status, startup type, since when, jobs
// running and held; Start/Stop/Pause/Continue/Restart (POST /api/v1/hosts/H/services/S/ACTION)
// and Properties (PATCH /api/v1/hosts/H/services/S) for System Administrators. Refreshed every
// 2 s, every 0.5 s while a service is pending (a stop shows its drain: jobs running, seconds left).
import { api } from './api.js';
import { button, el, errorText, field, fmtTime, keepFocus, note, poller, select,
         toast } from './ui.js';

export const title = 'Services';
export const needs = 'read';

const ACTIONS = [['start', 'Start'], ['stop', 'Stop'], ['pause', 'Pause'],
                 ['continue', 'Continue'], ['restart', 'Restart']];

function offered(s, action) {
  const st = s.status;
  if (s.startup_type === 'disabled' && action !== 'stop') return false;
  switch (action) {
  case 'start': return st === 'stopped';
  case 'stop': return st !== 'stopped' && st !== 'stop_pending';
  case 'pause': return s.can_pause && st === 'running';
  case 'continue': return st === 'paused';
  case 'restart': return st === 'running' || st === 'paused';
  default: return false;
  }
}

export function render(root, ctx) {
  const status = el('div', { 'aria-live': 'polite' });
  const body = el('div');
  root.append(el('h1', 'Services'), status, body);
  let pending = false;
  let editing = null; // "host/name" whose Properties form is open

  async function act(host, s, action) {
    try {
      const r = await api('POST', `/api/v1/hosts/${encodeURIComponent(host)}/services/` +
                                  `${encodeURIComponent(s.name)}/${action}`, {});
      toast(`${s.name}: ${action} → ${r && r.status ? r.status : 'done'}`);
    } catch (e) {
      toast(errorText(e), 'error');
    }
    p.now();
  }

  function properties(host, s) {
    const startup = select(['automatic', 'manual', 'disabled'], s.startup_type);
    const delay = el('input', { type: 'number', min: '0', max: '3600',
                                value: String(s.recovery_delay_s ?? 0) });
    const msg = el('p', { role: 'status' });
    const form = el('form.card.props', { 'aria-label': `Properties of ${s.name}` },
      el('h3', `Properties of ${s.display_name || s.name}`),
      field('Startup type', startup), field('Recovery delay (s)', delay),
      el('button', { type: 'submit' }, 'Save'),
      button('Close', () => { editing = null; p.now(); }), msg);
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const n = Number(delay.value);
      if (!Number.isInteger(n) || n < 0) {
        msg.textContent = 'The recovery delay is a whole number of seconds.';
        return;
      }
      try {
        await api('PATCH', `/api/v1/hosts/${encodeURIComponent(host)}/services/` +
                           `${encodeURIComponent(s.name)}`,
                  { startup_type: startup.value, recovery_delay_s: n });
        toast(`${s.name}: properties saved`);
        editing = null;
        p.now();
      } catch (e) {
        msg.textContent = errorText(e);
      }
    });
    return form;
  }

  function serviceRow(host, s) {
    const key = `${host}/${s.name}`;
    let drain = '';
    if (s.status === 'stop_pending' && s.seconds_left !== undefined)
      drain = `draining: ${s.jobs_running ?? 0} running, ${Math.ceil(s.seconds_left)} s left`;
    const buttons = ACTIONS.filter(([a]) => offered(s, a))
      .map(([a, label]) => button(label, () => act(host, s, a),
                                  { allowed: ctx.can.admin, title: `${label} ${s.name}` }));
    const props = button('Properties', () => { editing = key; p.now(); },
                         { allowed: ctx.can.admin });
    return el('tr', { dataset: { service: s.name } },
      el('th', { scope: 'row' }, s.display_name || s.name, el('br'), el('small', s.name)),
      el('td', el('span', { class: `status st-${s.status}`, dataset: { status: s.status } },
                  s.status), drain ? el('div.drain', drain) : null,
         s.last_error ? el('div.error', s.last_error) : null),
      el('td', s.startup_type), el('td', fmtTime(s.since)),
      el('td', s.jobs_running ?? '–'), el('td', s.jobs_held ?? '–'),
      el('td.actions', buttons, props));
  }

  function hostBlock(h) {
    const services = h.services || [];
    const forms = services.filter((s) => editing === `${h.id}/${s.name}`)
      .map((s) => properties(h.id, s));
    return el('section.host', { 'aria-label': `host ${h.id}` },
      el('h2', `Host ${h.id}`, h.this_host ? ' (this host)' : '',
         h.alive === false ? ' — dead' : ''),
      el('table', el('thead', el('tr', ['Service', 'Status', 'Startup type', 'Since',
                                         'Running', 'Held', ''].map((t) =>
                                           el('th', { scope: 'col' }, t)))),
         el('tbody', services.map((s) => serviceRow(h.id, s)))),
      forms);
  }

  const p = poller(async () => {
    if (editing && root.querySelector('form.props:focus-within')) return; // typing
    try {
      const r = await api('GET', '/api/v1/hosts');
      const hosts = r.hosts || [];
      pending = hosts.some((h) => (h.services || []).some((s) => s.status.endsWith('_pending')));
      keepFocus(body, () => body.replaceChildren(...hosts.map(hostBlock)));
      status.replaceChildren();
    } catch (e) {
      status.replaceChildren(note(errorText(e), 'error'));
    }
  }, () => (pending ? 500 : 2000));
  return () => p.stop();
}
