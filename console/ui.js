// DOM helpers. Text from the server is only ever set as text (textContent), never parsed as
// HTML, so a job message containing <script> is shown as it is.

// el('tag.class#id', {attr: value, onclick: fn}, child, 'text', ...)
export function el(spec, attrs, ...children) {
  const m = spec.match(/^([a-z0-9]+)((?:[.#][\w-]+)*)$/i);
  const node = document.createElement(m ? m[1] : 'div');
  for (const part of (m && m[2] ? m[2].match(/[.#][\w-]+/g) : [])) {
    if (part[0] === '.') node.classList.add(part.slice(1));
    else node.id = part.slice(1);
  }
  if (attrs !== null && attrs !== undefined &&
      (typeof attrs !== 'object' || attrs instanceof Node || Array.isArray(attrs))) {
    children.unshift(attrs);
    attrs = null;
  }
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(node.dataset, v);
    else if (k in node && typeof v !== 'string') node[k] = v;
    else node.setAttribute(k, v === true ? '' : v);
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(node, c);
    else node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function clear(node) {
  while (node.firstChild) node.firstChild.remove();
  return node;
}

// A button; it is not made at all when allowed is false (a role may not use it).
export function button(label, onclick, { allowed = true, cls = '', title, danger } = {}) {
  if (!allowed) return null;
  return el('button', { type: 'button', class: (cls + (danger ? ' danger' : '')).trim() || null,
                        title, 'aria-label': title, onclick }, label);
}

// A table from rows: columns [{label, value: row => text|Node, sort: row => key}]
export function table(columns, rows, { caption, empty = 'nothing to show', id, onSort } = {}) {
  const head = el('tr', columns.map((c) => {
    const th = el('th', { scope: 'col' });
    if (c.sort && onSort) th.append(el('button', { type: 'button', class: 'link',
                                                     onclick: () => onSort(c) }, c.label));
    else th.append(c.label);
    return th;
  }));
  const body = rows.length ? rows.map((r) => el('tr', columns.map((c) => el('td', c.value(r)))))
                           : [el('tr', el('td', { colSpan: columns.length, class: 'empty' }, empty))];
  return el('table', { id }, caption ? el('caption', caption) : null, el('thead', head),
            el('tbody', body));
}

let toastTimer = null;
// A short message in the corner, gone after 8 s (errors after 20 s).
export function toast(text, kind = 'ok') {
  const t = document.getElementById('toast');
  t.className = kind;
  t.textContent = text;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { t.textContent = ''; }, kind === 'error' ? 20000 : 8000);
}

export function errorText(e) {
  return e && e.message ? e.message : String(e);
}

// A message box inside a page (role=alert for errors).
export function note(text, kind = 'info') {
  return el('p', { class: `note ${kind}`, role: kind === 'error' ? 'alert' : null }, text);
}

export function fmtTime(v) {
  if (!v) return '–';
  const d = new Date(v);
  return isNaN(d) ? String(v) : d.toLocaleString();
}

export function fmtNum(n) {
  return n === undefined || n === null ? '–' : Number(n).toLocaleString('en-US');
}

export function pre(value) {
  const text = value === undefined || value === null ? '' :
               typeof value === 'string' ? value : JSON.stringify(value, null, 2);
  return el('pre', { tabIndex: 0 }, text);
}

// A labelled form field: field('Name', input)
let fieldSeq = 0;
export function field(label, input, hint) {
  if (!input.id) input.id = `f${++fieldSeq}`;
  return el('div.field', el('label', { for: input.id }, label), input,
            hint ? el('small', hint) : null);
}

export function select(options, value, attrs = {}) {
  return el('select', attrs, options.map((o) => {
    const [v, label] = Array.isArray(o) ? o : [o, o];
    return el('option', { value: v, selected: String(v) === String(value) }, label);
  }));
}

// Calls fn now and then every ms while the tab is visible, until stopped. A call never overlaps
// the previous one; a hidden tab makes no request at all and refreshes when it shows again.
export function poller(fn, ms) {
  let timer = null;
  let stopped = false;
  let running = false;
  const tick = async () => {
    timer = null;
    if (stopped || running) return;
    if (document.visibilityState === 'hidden') return;
    running = true;
    try { await fn(); } catch (e) { /* the page shows its own errors */ }
    running = false;
    if (!stopped) timer = setTimeout(tick, typeof ms === 'function' ? ms() : ms);
  };
  const onVisible = () => {
    if (document.visibilityState === 'visible' && !timer && !running) tick();
  };
  document.addEventListener('visibilitychange', onVisible);
  tick();
  return {
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      document.removeEventListener('visibilitychange', onVisible);
    },
    now() {
      if (timer) clearTimeout(timer);
      timer = null;
      tick();
    },
  };
}

// Re-render container with fn() keeping the keyboard focus: a control focused inside it before is
// looked up again afterwards (same tag and accessible name) and focused, so a refresh every 2 s
// does not throw a keyboard user back to the top of the page.
export function keepFocus(container, fn) {
  const a = document.activeElement;
  const inside = a && a !== document.body && container.contains(a);
  const key = inside ? [a.tagName, a.getAttribute('aria-label') || a.id || a.textContent] : null;
  fn();
  if (!key || container.contains(a)) return;
  for (const c of container.querySelectorAll(key[0])) {
    if ((c.getAttribute('aria-label') || c.id || c.textContent) === key[1]) {
      c.focus();
      return;
    }
  }
}
