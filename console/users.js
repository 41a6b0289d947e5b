// Users & tokens (System Administrators): GET/POST /api/v1/users, DELETE /api/v1/users/ID (takes
// its roles, revokes its tokens, ends its sessions), GET/POST /api/v1/tokens (a new token is shown
// once), DELETE /api/v1/tokens/ID.
import { api } from './api.js';
import { button, el, errorText, field, fmtTime, note, table, toast } from './ui.js';

export const title = 'Users & tokens';
export const needs = 'admin';

const ROLES = ['System Administrator', 'Operator', 'Submitter', 'Reader'];

export function render(root) {
  const status = el('div', { 'aria-live': 'polite' });
  const usersBox = el('div');
  const tokensBox = el('div');
  const shown = el('div', { id: 'new-token', 'aria-live': 'polite' });
  let users = [];

  const name = el('input', { name: 'name', required: true, autocomplete: 'off' });
  const password = el('input', { name: 'password', type: 'password', autocomplete: 'new-password' });
  const roleBoxes = ROLES.map((r) => el('input', { type: 'checkbox', value: r, name: 'roles' }));
  const userOut = el('p', { role: 'status', id: 'user-outcome' });
  const userForm = el('form.card', { 'aria-label': 'Create a user' }, el('h2', 'Create a user'),
    field('Name', name), field('Password (for the console; optional)', password),
    el('fieldset', el('legend', 'Roles'), ROLES.map((r, i) =>
      el('label.check', roleBoxes[i], ` ${r}`))),
    el('button', { type: 'submit' }, 'Create user'), userOut);
  userForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const roles = roleBoxes.filter((b) => b.checked).map((b) => b.value);
    if (!roles.length) { userOut.textContent = 'Give the user at least one role.'; return; }
    const body = { name: name.value.trim(), roles };
    if (password.value) body.password = password.value;
    try {
      const r = await api('POST', '/api/v1/users', body);
      userOut.textContent = `User ${body.name} created (id ${r.id}).`;
      password.value = '';
      load();
    } catch (e) {
      userOut.textContent = errorText(e);
    }
  });

  const tokUser = el('select', { name: 'user' });
  const tokName = el('input', { name: 'token_name', placeholder: 'ci' });
  const tokForm = el('form.card', { 'aria-label': 'Create a token' }, el('h2', 'Create a token'),
    field('For user', tokUser), field('Token name', tokName),
    el('button', { type: 'submit' }, 'Create token'), shown);
  tokForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const body = { user: tokUser.value };
    if (tokName.value.trim()) body.name = tokName.value.trim();
    try {
      const r = await api('POST', '/api/v1/tokens', body);
      shown.replaceChildren(el('p', 'The new token, shown this once: copy it now.'),
                            el('code.token', { tabIndex: 0 }, r.token));
      load();
    } catch (e) {
      shown.replaceChildren(note(errorText(e), 'error'));
    }
  });

  root.append(el('h1', 'Users & tokens'), status, el('h2', 'Users'), usersBox, userForm,
              el('h2', 'Tokens'), tokensBox, tokForm);

  async function removeUser(u) {
    try {
      await api('DELETE', `/api/v1/users/${u.id}`);
      toast(`User ${u.name} removed: roles taken, tokens revoked`);
    } catch (e) { toast(errorText(e), 'error'); }
    load();
  }

  async function revoke(t) {
    try {
      await api('DELETE', `/api/v1/tokens/${t.id}`);
      toast(`Token ${t.id} revoked`);
    } catch (e) { toast(errorText(e), 'error'); }
    load();
  }

  async function load() {
    try {
      const [u, t] = await Promise.all([api('GET', '/api/v1/users'), api('GET', '/api/v1/tokens')]);
      users = u.users || [];
      const byId = new Map(users.map((x) => [x.id, x.name]));
      usersBox.replaceChildren(table([
        { label: 'id', value: (x) => x.id },
        { label: 'name', value: (x) => x.name },
        { label: 'roles', value: (x) => (x.roles || []).join(', ') || 'none (removed)' },
        { label: 'created', value: (x) => fmtTime(x.created_on) },
        { label: 'actions', value: (x) => ((x.roles || []).length
          ? button('Remove', () => removeUser(x), { danger: true, title: `Remove ${x.name}` })
          : '') },
      ], users, { id: 'users-table' }));
      tokensBox.replaceChildren(table([
        { label: 'id', value: (x) => x.id },
        { label: 'user', value: (x) => byId.get(x.user_id) || x.user_id },
        { label: 'name', value: (x) => x.name || '' },
        { label: 'created', value: (x) => fmtTime(x.created_on) },
        { label: 'revoked', value: (x) => (x.revoked_on ? fmtTime(x.revoked_on) : 'no') },
        { label: 'actions', value: (x) => (x.revoked_on ? ''
          : button('Revoke', () => revoke(x), { danger: true, title: `Revoke token ${x.id}` })) },
      ], t.tokens || [], { id: 'tokens-table' }));
      const keep = tokUser.value;
      tokUser.replaceChildren(...users.filter((x) => (x.roles || []).length)
        .map((x) => el('option', { value: x.name, selected: x.name === keep }, x.name)));
      status.replaceChildren();
    } catch (e) {
      status.replaceChildren(note(errorText(e), 'error'));
    }
  }
  load();
  return null;
}
