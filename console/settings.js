// Settings: GET /api/v1/settings, one field per key typed by its value; System Administrators
// change them with PATCH /api/v1/settings (only the keys changed; the server validates all and
// answers 400 naming the setting). The last change and who made it come from the audit log
// (GET /api/v1/audit, administrators only).
import { api } from './api.js';
import { el, errorText, field, fmtTime, note } from './ui.js';

export const title = 'Settings';
export const needs = 'read';

function input(key, value, readOnly) {
  if (typeof value === 'boolean')
    return el('input', { type: 'checkbox', name: key, checked: value, disabled: readOnly });
  if (typeof value === 'number')
    return el('input', { type: 'number', name: key, value: String(value), step: 'any',
                         readOnly, required: true });
  return el('input', { name: key, value: value === null ? '' : String(value), readOnly });
}

function valueOf(inp, old) {
  if (typeof old === 'boolean') return inp.checked;
  if (typeof old === 'number') return inp.value === '' ? NaN : Number(inp.value);
  return inp.value;
}

export function render(root, ctx) {
  const status = el('div', { 'aria-live': 'polite' });
  const last = el('p', { id: 'settings-last' });
  const form = el('form.card.settings', { 'aria-label': 'Settings', novalidate: true });
  const out = el('p', { role: 'status', id: 'settings-outcome' });
  root.append(el('h1', 'Settings'), status, last, form);
  let current = {};

  async function lastChange() {
    if (!ctx.can.admin) return;
    try {
      const r = await api('GET', '/api/v1/audit?limit=200');
      const e = (r.entries || []).find((x) => /setting/i.test(x.action) && x.result === 'ok');
      last.textContent = e ? `Last changed by ${e.user} at ${fmtTime(e.at)}` +
                             (e.detail ? `: ${e.detail}` : '') : '';
    } catch (e) { /* not essential */ }
  }

  function show() {
    const inputs = {};
    const keys = Object.keys(current).sort();
    form.replaceChildren(...keys.map((k) => {
      inputs[k] = input(k, current[k], !ctx.can.admin);
      return field(k, inputs[k]);
    }), ctx.can.admin ? el('button', { type: 'submit' }, 'Save changes') : null, out);
    form.onsubmit = async (ev) => {
      ev.preventDefault();
      const changes = {};
      for (const k of keys) {
        const v = valueOf(inputs[k], current[k]);
        if (typeof v === 'number' && !Number.isFinite(v)) {
          out.textContent = `${k} must be a number.`;
          inputs[k].focus();
          return;
        }
        if (v !== current[k]) changes[k] = v;
      }
      if (!Object.keys(changes).length) { out.textContent = 'Nothing changed.'; return; }
      try {
        current = await api('PATCH', '/api/v1/settings', changes);
        show();
        out.textContent = `Saved: ${Object.keys(changes).join(', ')}.`;
        lastChange();
      } catch (e) {
        out.textContent = errorText(e);
      }
    };
  }

  (async () => {
    try {
      current = await api('GET', '/api/v1/settings');
      show();
      lastChange();
    } catch (e) {
      status.replaceChildren(note(errorText(e), 'error'));
    }
  })();
  return null;
}
