// Audit (System Administrators): GET /api/v1/audit?limit=&cursor=, newest first, page by page
// ("Load more" follows next_cursor). The filters by user, action and result are sent to the server
// and also applied to the entries loaded, so they work whether or not the server filters.
import { api } from './api.js';
import { el, errorText, field, fmtTime, note, select, table } from './ui.js';

export const title = 'Audit';
export const needs = 'admin';

export function render(root) {
  const status = el('div', { 'aria-live': 'polite' });
  const user = el('input', { name: 'user' });
  const action = el('input', { name: 'action', placeholder: 'login, service, job…' });
  const result = select([['', 'any result'], ['ok', 'ok'], ['refused', 'refused']], '',
                        { name: 'result' });
  const form = el('form.filters.card', { 'aria-label': 'Filter the audit log' },
    field('User', user), field('Action contains', action), field('Result', result),
    el('button', { type: 'submit' }, 'Apply'));
  const box = el('div');
  const more = el('button', { type: 'button' }, 'Load more');
  root.append(el('h1', 'Audit'), status, form, box, more);
  let entries = [];
  let cursor = null;

  const matches = (e) => (!user.value || e.user === user.value) &&
    (!action.value || (e.action || '').includes(action.value)) &&
    (!result.value || e.result === result.value);

  function show() {
    box.replaceChildren(table([
      { label: 'when', value: (e) => fmtTime(e.at) },
      { label: 'user', value: (e) => e.user || '' },
      { label: 'from', value: (e) => e.remote || '' },
      { label: 'action', value: (e) => e.action },
      { label: 'target', value: (e) => e.target || '' },
      { label: 'result', value: (e) => e.result },
      { label: 'detail', value: (e) => e.detail || '' },
    ], entries.filter(matches), { id: 'audit-table', empty: 'No entry matches.' }));
    more.disabled = !cursor;
  }

  let seq = 0; // an answer to an older request (the filter changed since) is dropped
  async function load(reset) {
    if (reset) { entries = []; cursor = null; }
    const mine = ++seq;
    const q = new URLSearchParams({ limit: '200' });
    if (cursor) q.set('cursor', cursor);
    for (const [k, v] of [['user', user.value], ['action', action.value], ['result', result.value]])
      if (v) q.set(k, v);
    try {
      const r = await api('GET', `/api/v1/audit?${q}`);
      if (mine !== seq) return;
      entries = entries.concat(r.entries || []);
      cursor = r.next_cursor || null;
      show();
      status.replaceChildren();
    } catch (e) {
      status.replaceChildren(note(errorText(e), 'error'));
    }
  }
  form.addEventListener('submit', (ev) => { ev.preventDefault(); load(true); });
  more.addEventListener('click', () => load(false));
  load(true);
  return null;
}
