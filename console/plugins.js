// Plug-ins: assemblies (GET /api/v1/assemblies) and steps (GET /api/v1/steps), refreshed every
// 2 s; for System Administrators: upload a build (POST /api/v1/assemblies?isolation=, the
// library's bytes) showing the outcome (registered/upgraded/unchanged/... or refused and why), add
// a step (POST /api/v1/steps), edit every field of it or enable/disable it (PATCH
// /api/v1/steps/ID; a configuration the plug-in refuses is a 422 shown with its reason), and safe
// deletes (DELETE ...?mode=refuse|drain|cancel[&timeout=S]) with the refusal's counts and a
// drain's live progress (GET /api/v1/{assemblies,steps}/ID until 404: counts, jobs waiting for a
// person, the earliest postponed one, the deadline).
import { api } from './api.js';
import { button, clear, el, errorText, field, fmtTime, keepFocus, note, poller, select, table,
         toast } from './ui.js';

export const title = 'Plug-ins';
export const needs = 'read';

function countsText(c) {
  if (!c) return '';
  let t = `${c.ready ?? 0} ready, ${c.suspended ?? 0} suspended, ${c.locked ?? 0} running`;
  if (c.waiting_for_person) t += `, ${c.waiting_for_person} waiting for a person (paused or ` +
                                 'needing attention: only a resume moves them)';
  if (c.earliest_postpone_until) t += `, the earliest postponed one due ${fmtTime(c.earliest_postpone_until)}`;
  return t;
}

export function render(root, ctx) {
  const status = el('div', { 'aria-live': 'polite' });
  const asmBox = el('div');
  const stepBox = el('div');
  const drainBox = el('div', { id: 'drains', 'aria-live': 'polite' });
  const editBox = el('div', { id: 'step-edit' });
  const drains = new Map(); // "assemblies/ID" -> {label, text}
  let types = [];
  const modes = new Map(); // the delete mode chosen per row, kept across refreshes

  root.append(el('h1', 'Plug-ins'), status, drainBox, el('h2', 'Assemblies'),
              ctx.can.admin ? uploadForm() : null, asmBox, el('h2', 'Steps'),
              ctx.can.admin ? stepForm() : null, editBox, stepBox);

  function deleteControls(kind, item, label) {
    if (!ctx.can.admin) return null;
    const mode = select([['refuse', 'refuse if jobs are left'], ['drain', 'drain, then delete'],
                         ['cancel', 'cancel its jobs']], modes.get(label) || 'refuse',
                        { 'aria-label': `delete mode for ${label}`,
                          onchange: (ev) => modes.set(label, ev.target.value) });
    const timeout = el('input', { type: 'number', min: '1', inputmode: 'numeric', class: 'short',
                                  value: modes.get(`timeout ${label}`) || '',
                                  placeholder: 'none',
                                  'aria-label': `drain timeout in seconds for ${label}`,
                                  title: 'drain only: at the deadline what is left is canceled',
                                  oninput: (ev) => modes.set(`timeout ${label}`, ev.target.value) });
    return el('span.delete', mode, timeout,
              button('Delete', () => del(kind, item, label, mode.value, timeout.value),
                     { danger: true, title: `Delete ${label}` }));
  }

  async function del(kind, item, label, mode, timeout) {
    const q = new URLSearchParams({ mode });
    if (mode === 'drain' && timeout) q.set('timeout', timeout);
    try {
      const r = await api('DELETE', `/api/v1/${kind}/${item.id}?${q}`);
      modes.delete(`timeout ${label}`);
      if (r && r.draining) {
        drains.set(`${kind}/${item.id}`, { label, text: countsText(r.counts),
                                           deadline: r.drain_deadline });
        toast(`${label}: draining`);
        followDrain(kind, item.id);
      } else {
        toast(`${label} deleted`);
      }
    } catch (e) {
      const counts = e.body && e.body.error && e.body.error.counts;
      toast(counts ? `${errorText(e)} (${countsText(counts)})` : errorText(e), 'error');
    }
    p.now();
  }

  async function followDrain(kind, id) {
    const key = `${kind}/${id}`;
    const d = drains.get(key);
    if (!d) return; // the page was left
    try {
      const r = await api('GET', `/api/v1/${kind}/${id}`);
      d.text = `${countsText(r.unfinished)} left`;
      d.deadline = r.drain_deadline || d.deadline;
      showDrains();
      setTimeout(() => followDrain(kind, id), 1000);
    } catch (e) {
      if (e.status === 404) {
        d.text = 'drained and deleted';
        d.done = true;
      } else {
        d.text = errorText(e);
        setTimeout(() => followDrain(kind, id), 2000);
      }
      showDrains();
    }
  }

  function showDrains() {
    drainBox.replaceChildren(...[...drains.entries()].map(([key, d]) =>
      el('p', { class: `drain ${d.done ? 'done' : ''}`, dataset: { drain: key } },
         `${d.label}: ${d.text}`,
         d.deadline && !d.done ? el('span.deadline', `; at ${fmtTime(d.deadline)} what is left ` +
                                                     'is canceled') : null)));
  }

  function uploadForm() {
    const file = el('input', { type: 'file', name: 'library', accept: '.so', required: true });
    const iso = select([['', 'default (sandbox; kept on upgrade)'], ['sandbox', 'sandbox'],
                        ['none', 'none (runs in the host)']], '', { name: 'isolation' });
    const down = el('input', { type: 'checkbox', name: 'allow_downgrade' });
    const out = el('p', { role: 'status', id: 'upload-outcome' });
    const form = el('form.card', { 'aria-label': 'Upload an assembly' },
      el('h3', 'Upload an assembly or a new build'), field('Shared library (.so)', file),
      field('Isolation', iso), field('Allow a downgrade', down),
      el('button', { type: 'submit' }, 'Upload'), out);
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      if (!file.files.length) { out.textContent = 'Choose a library first.'; return; }
      const q = new URLSearchParams();
      if (iso.value) q.set('isolation', iso.value);
      if (down.checked) q.set('allow_downgrade', 'true');
      out.textContent = 'uploading…';
      try {
        const a = await api('POST', `/api/v1/assemblies?${q}`, file.files[0]);
        out.textContent = `${a.outcome}: ${a.name} ${a.version} (${a.isolation}), types ` +
                          `${(a.types || []).join(', ')}`;
      } catch (e) {
        out.textContent = `refused: ${errorText(e)}`;
      }
      p.now();
    });
    return form;
  }

  function stepForm() {
    const type = el('input', { name: 'plugin_type', required: true, list: 'plugin-types',
                               placeholder: 'samples.echo' });
    const typeList = el('datalist', { id: 'plugin-types' });
    const message = el('input', { name: 'message', required: true, placeholder: 'Create' });
    const entity = el('input', { name: 'entity', placeholder: 'account (empty: any)' });
    const name = el('input', { name: 'name' });
    const rank = el('input', { name: 'rank', type: 'number', value: '1' });
    const attrs = el('input', { name: 'filtering_attributes', placeholder: 'name, email' });
    const conf = el('textarea', { name: 'configuration', rows: 2 });
    const enabled = el('input', { type: 'checkbox', name: 'enabled', checked: true });
    const out = el('p', { role: 'status', id: 'step-outcome' });
    const form = el('form.card', { 'aria-label': 'Add a step' }, el('h3', 'Add a step'),
      field('Plug-in type', type), typeList, field('Message', message), field('Entity', entity),
      field('Name', name), field('Rank', rank), field('Filtering attributes', attrs),
      field('Configuration', conf), field('Enabled', enabled),
      el('button', { type: 'submit' }, 'Add step'), out);
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const body = { plugin_type: type.value.trim(), message: message.value.trim(),
                     enabled: enabled.checked };
      if (entity.value.trim()) body.entity = entity.value.trim();
      if (name.value.trim()) body.name = name.value.trim();
      if (rank.value !== '') body.rank = Number(rank.value);
      if (attrs.value.trim())
        body.filtering_attributes = attrs.value.split(',').map((s) => s.trim()).filter(Boolean);
      if (conf.value.trim()) body.configuration = conf.value;
      try {
        const r = await api('POST', '/api/v1/steps', body);
        out.textContent = `Step ${r.id} added` +
          (r.assembly ? ` (bound to ${r.assembly.name} ${r.assembly.version})` : '');
      } catch (e) {
        out.textContent = errorText(e);
      }
      p.now();
    });
    form.typeList = typeList;
    stepForm.list = typeList;
    return form;
  }

  // PATCH /api/v1/assemblies/ID {isolation}: jobs that start afterwards run with it
  function isolationControl(a) {
    const sel = select(['sandbox', 'none'], modes.get(`iso ${a.id}`) || a.isolation,
                       { 'aria-label': `isolation of assembly ${a.name}`,
                         onchange: (ev) => modes.set(`iso ${a.id}`, ev.target.value) });
    return el('span', sel, button('Set', async () => {
      const sent = sel.value;
      try {
        await api('PATCH', `/api/v1/assemblies/${a.id}`, { isolation: sent });
        toast(`assembly ${a.name}: isolation ${sent}`);
      } catch (e) {
        toast(errorText(e), 'error');
      }
      // forget the choice once it is stored, unless another was made while it was sent
      if (modes.get(`iso ${a.id}`) === sent) modes.delete(`iso ${a.id}`);
      p.now();
    }, { title: `Set the isolation of assembly ${a.name}` }));
  }

  async function toggle(s) {
    try {
      await api('PATCH', `/api/v1/steps/${s.id}`, { enabled: !s.enabled });
      toast(`Step ${s.id} ${s.enabled ? 'disabled' : 'enabled'}`);
    } catch (e) {
      toast(errorText(e), 'error');
    }
    p.now();
  }

  function showAssemblies(list) {
    types = list.flatMap((a) => (a.types || []).map((t) => (t.includes('.') ? t : `${a.name}.${t}`)));
    if (stepForm.list)
      stepForm.list.replaceChildren(...types.map((t) => el('option', { value: t })));
    asmBox.replaceChildren(table([
      { label: 'name', value: (a) => a.name },
      { label: 'version', value: (a) => a.version },
      { label: 'isolation', value: (a) => (ctx.can.admin && !a.draining ? isolationControl(a)
                                                                        : a.isolation) },
      { label: 'sha256', value: (a) => el('code', { title: a.sha256 }, a.sha256.slice(0, 12)) },
      { label: 'types', value: (a) => (a.types || []).join(', ') },
      { label: 'state', value: (a) => (a.draining ? 'draining' : 'active') },
      { label: 'registered', value: (a) => fmtTime(a.created_on) },
      { label: 'actions', value: (a) => deleteControls('assemblies', a, `assembly ${a.name}`) },
    ], list, { id: 'assemblies-table', empty: 'No assembly registered.' }));
  }

  // Every field of a step (PATCH /api/v1/steps/ID sends only the fields changed; plugin_type,
  // stage and mode stay: a step of another type is a new step). The form stays outside the
  // table, so the refresh every 2 s leaves it alone.
  function editStep(s) {
    const text = (v) => (v === null || v === undefined ? '' :
                         typeof v === 'string' ? v : JSON.stringify(v));
    const f = {
      name: el('input', { value: s.name || '' }),
      message: el('input', { value: s.message || '', required: true }),
      entity: el('input', { value: s.entity || '', placeholder: 'empty: any' }),
      rank: el('input', { type: 'number', value: String(s.rank ?? 1) }),
      filtering_attributes: el('input', { value: (s.filtering_attributes || []).join(', '),
                                          placeholder: 'name, email (empty: any)' }),
      configuration: el('textarea', { rows: 3 }, text(s.configuration)),
      secure_configuration: el('textarea', { rows: 2, placeholder: s.has_secure_configuration
        ? 'set (not shown): type to replace it' : 'none' }),
      clear_secure: el('input', { type: 'checkbox' }),
      impersonating_user: el('input', { value: s.impersonating_user || '',
                                        placeholder: 'empty: the step runs as itself' }),
      images: el('textarea', { rows: 2, placeholder: '[{"type":"pre","alias":"before",' +
                                                     '"attributes":["name"]}]' },
                 s.images ? JSON.stringify(s.images) : ''),
      async_auto_delete: el('input', { type: 'checkbox', checked: !!s.async_auto_delete }),
      enabled: el('input', { type: 'checkbox', checked: !!s.enabled }),
    };
    const out = el('p', { role: 'status', id: 'step-edit-outcome' });
    const form = el('form.card.step-edit', { 'aria-label': `Edit step ${s.id}` },
      el('h3', `Edit step ${s.id} (${s.plugin_type})`),
      field('Step name', f.name), field('Step message', f.message), field('Step entity', f.entity),
      field('Step rank', f.rank), field('Step filtering attributes', f.filtering_attributes),
      field('Step configuration', f.configuration),
      field('Step secure configuration', f.secure_configuration, 'never shown; empty: unchanged'),
      field('Remove the secure configuration', f.clear_secure),
      field('Impersonating user', f.impersonating_user), field('Images (JSON)', f.images),
      field('Delete the job when it succeeds', f.async_auto_delete),
      field('Step enabled', f.enabled),
      el('button', { type: 'submit' }, 'Save step'),
      el('button', { type: 'button', onclick: () => clear(editBox) }, 'Close'), out);
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const body = {};
      const str = (k, v) => { if (v !== text(s[k])) body[k] = v === '' ? null : v; };
      str('name', f.name.value.trim());
      str('message', f.message.value.trim());
      str('entity', f.entity.value.trim());
      str('impersonating_user', f.impersonating_user.value.trim());
      str('configuration', f.configuration.value);
      if (Number(f.rank.value) !== s.rank) body.rank = Number(f.rank.value);
      const attrs = f.filtering_attributes.value.split(',').map((x) => x.trim()).filter(Boolean);
      if (attrs.join() !== (s.filtering_attributes || []).join())
        body.filtering_attributes = attrs.length ? attrs : null;
      if (f.images.value.trim() !== (s.images ? JSON.stringify(s.images) : '')) {
        try { body.images = f.images.value.trim() ? JSON.parse(f.images.value) : null; } catch (e) {
          out.textContent = `The images are not JSON: ${e.message}`;
          return;
        }
      }
      if (f.clear_secure.checked) body.secure_configuration = null;
      else if (f.secure_configuration.value) body.secure_configuration = f.secure_configuration.value;
      if (f.async_auto_delete.checked !== !!s.async_auto_delete)
        body.async_auto_delete = f.async_auto_delete.checked;
      if (f.enabled.checked !== !!s.enabled) body.enabled = f.enabled.checked;
      if (!Object.keys(body).length) { out.textContent = 'Nothing changed.'; return; }
      out.textContent = 'saving…';
      try {
        const r = await api('PATCH', `/api/v1/steps/${s.id}`, body);
        Object.assign(s, r);
        f.secure_configuration.value = '';
        out.textContent = `Step ${s.id} saved: ${Object.keys(body).join(', ')}`;
      } catch (e) {
        out.textContent = `refused (${e.status}): ${errorText(e)}`;
      }
      p.now();
    });
    editBox.replaceChildren(form);
    f.name.focus();
  }

  function showSteps(list) {
    stepBox.replaceChildren(table([
      { label: 'id', value: (s) => s.id },
      { label: 'name', value: (s) => s.name },
      { label: 'message', value: (s) => s.message },
      { label: 'entity', value: (s) => s.entity || 'any' },
      { label: 'plug-in type', value: (s) => s.plugin_type },
      { label: 'rank', value: (s) => s.rank },
      { label: 'enabled', value: (s) => (s.enabled ? 'yes' : 'no') },
      { label: 'state', value: (s) => (s.draining ? 'draining' : 'active') },
      { label: 'jobs', value: (s) => el('a', { href: `#/jobs?step_id=${s.id}` }, 'jobs') },
      { label: 'actions', value: (s) => [
          button('Edit', () => editStep(s), { allowed: ctx.can.admin && !s.draining,
                                             title: `Edit step ${s.id}` }),
          button(s.enabled ? 'Disable' : 'Enable', () => toggle(s),
                 { allowed: ctx.can.admin, title: `${s.enabled ? 'Disable' : 'Enable'} step ${s.id}` }),
          deleteControls('steps', s, `step ${s.id}`)] },
    ], list, { id: 'steps-table', empty: 'No step.' }));
  }

  const p = poller(async () => {
    if (root.querySelector('#assemblies-table select:focus, #steps-table select:focus, ' +
                           '#assemblies-table input:focus, #steps-table input:focus')) return;
    try {
      const [a, s] = await Promise.all([api('GET', '/api/v1/assemblies'),
                                        api('GET', '/api/v1/steps')]);
      keepFocus(asmBox, () => showAssemblies(a.assemblies || []));
      keepFocus(stepBox, () => showSteps(s.steps || []));
      status.replaceChildren();
    } catch (e) {
      status.replaceChildren(note(errorText(e), 'error'));
    }
  }, 2000);
  return () => { p.stop(); stepForm.list = null; drains.clear(); };
}
