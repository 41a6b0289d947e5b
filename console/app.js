// The console's shell: login and logout, who the user is (GET /api/v1/whoami) and what its roles
// allow, the navigation, and the page modules (one per page, each render(root, ctx) returning a
// function that stops its refreshes).
import { api, hasCsrf, onUnauthorized, setCsrf } from './api.js';
import { clear, el, errorText } from './ui.js';
import * as overview from './overview.js';
import * as services from './services.js';
import * as jobs from './jobs.js';
import * as plugins from './plugins.js';
import * as settings from './settings.js';
import * as audit from './audit.js';
import * as users from './users.js';

const PAGES = { overview, services, jobs, plugins, settings, audit, users };
const $ = (id) => document.getElementById(id);
let me = null;
let stopPage = null;

// What the roles allow, as the API's table says (docs/api.md, "Roles per endpoint").
function capabilities(roles) {
  const has = (r) => roles.includes(r);
  const admin = has('System Administrator');
  const ops = admin || has('Operator');
  const read = ops || has('Reader');
  return { admin, ops, read, submit: admin || has('Submitter'), any: roles.length > 0, roles };
}

function showLogin(message) {
  if (stopPage) stopPage();
  stopPage = null;
  me = null;
  $('top').hidden = true;
  $('page').hidden = true;
  clear($('page'));
  $('login').hidden = false;
  $('login-error').textContent = message || '';
  $('login-name').focus();
}

async function login(ev) {
  ev.preventDefault();
  const name = $('login-name').value;
  const password = $('login-password').value;
  $('login-error').textContent = '';
  try {
    const r = await api('POST', '/api/v1/login', { name, password }, { quiet401: true });
    setCsrf(r.csrf_token);
    $('login-password').value = '';
    await start();
  } catch (e) {
    $('login-error').textContent = errorText(e);
  }
}

async function logout() {
  try { await api('POST', '/api/v1/logout', undefined, { quiet401: true }); } catch (e) { /* gone */ }
  setCsrf(null);
  location.hash = '#/overview';
  showLogin('You are logged out.');
}

function route() {
  if (!me) return;
  const [path, query] = location.hash.replace(/^#\/?/, '').split('?');
  const [name, arg] = path.split('/');
  let page = PAGES[name] ? name : 'overview';
  const ctx = { me, can: capabilities(me.roles), arg: arg ? decodeURIComponent(arg) : null,
                query: new URLSearchParams(query || '') };
  if (!allowed(page, ctx.can)) page = ctx.can.read ? 'overview' : 'jobs';
  if (stopPage) stopPage();
  for (const a of $('nav').querySelectorAll('a')) {
    if (a.dataset.page === page) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  const root = clear($('page'));
  root.hidden = false;
  document.title = `${PAGES[page].title} · asyncd`;
  stopPage = PAGES[page].render(root, ctx) || null;
}

function allowed(page, can) {
  const needs = PAGES[page].needs || 'read';
  return !!can[needs];
}

async function start() {
  try {
    me = await api('GET', '/api/v1/whoami', undefined, { quiet401: true });
  } catch (e) {
    showLogin(e.status === 401 ? '' : errorText(e));
    return;
  }
  if (!hasCsrf()) {
    // a session from another tab: its CSRF token is not known here, so log in again
    showLogin('Log in to continue.');
    return;
  }
  const can = capabilities(me.roles);
  $('login').hidden = true;
  $('top').hidden = false;
  $('who').textContent = `${me.name} (${me.roles.join(', ') || 'no role'})`;
  for (const a of $('nav').querySelectorAll('a')) a.hidden = !allowed(a.dataset.page, can);
  route();
}

onUnauthorized((message) => showLogin(`${message}`));
$('login-form').addEventListener('submit', login);
$('logout').addEventListener('click', logout);
window.addEventListener('hashchange', route);
start();
