// The app: a small router over the pages Keyward serves index.html for
// (keep in step with APP_PAGES in crates/keyward-server/src/routes/web.rs),
// the shell (who is signed in, the navigation), and the rule for where each
// session stage may go.

import { api, isProblem } from './api.js';
import { h, replace } from './dom.js';
import { errorNotice } from './notice.js';
import overview from './views/overview.js';
import signin from './views/signin.js';
import signup from './views/signup.js';
import enrol from './views/enrol.js';
import keys from './views/keys.js';
import sessions from './views/sessions.js';
import activity from './views/activity.js';
import addresses from './views/addresses.js';
import apiKeys from './views/api-keys.js';
import settings from './views/settings.js';
import freeze from './views/freeze.js';
import recover from './views/recover.js';

const ROUTES = {
  '/': overview,
  '/signin': signin,
  '/signup': signup,
  '/enrol': enrol,
  '/keys': keys,
  '/sessions': sessions,
  '/activity': activity,
  '/addresses': addresses,
  '/api-keys': apiKeys,
  '/settings': settings,
  '/freeze': freeze,
  '/recover': recover,
};

/** Pages for people who are not signed in. */
const OPEN = new Set(['/signin', '/signup', '/recover']);

const main = document.getElementById('main');
const layout = document.getElementById('layout');
const who = document.getElementById('who');
const username = document.getElementById('username');
const nav = document.getElementById('nav');

let leaveHandlers = [];
let renderSeq = 0;

/**
 * Where to go after signing in: only our own pages, never another site
 * (`next` comes from the URL, so it is untrusted).
 */
export function safeNext(raw) {
  if (typeof raw !== 'string') return '/';
  if (/^\/confirm\/[0-9A-Za-z-]{1,64}$/.test(raw)) return raw;
  return Object.hasOwn(ROUTES, raw) && !OPEN.has(raw) ? raw : '/';
}

function currentNext() {
  return new URLSearchParams(location.search).get('next');
}

/**
 * Where a session in `stage` may be, given the page it asked for. A session
 * the server ended (another device ended it, a key was removed) can still
 * read as signed in until its next real request; `/signin?expired=1` shows
 * the sign-in form regardless.
 */
function destination(path, stage) {
  if (path === '/signin' && new URLSearchParams(location.search).get('expired') === '1') return path;
  if (stage === 'signed_in') {
    return OPEN.has(path) ? safeNext(currentNext()) : path;
  }
  if (stage === 'enrolling') return '/enrol';
  if (stage === 'password' || stage === 'expired') return '/signin';
  if (OPEN.has(path)) return path;
  return path === '/' ? '/signin' : `/signin?next=${encodeURIComponent(path)}`;
}

/** Goes to a path: within the app without reloading, elsewhere by loading it. */
export function navigate(target, { replace: replaceEntry = false } = {}) {
  const url = new URL(target, location.origin);
  if (url.origin !== location.origin || !Object.hasOwn(ROUTES, url.pathname)) {
    location.assign(url.pathname + url.search);
    return;
  }
  if (replaceEntry) history.replaceState(null, '', url.pathname + url.search);
  else history.pushState(null, '', url.pathname + url.search);
  render({ focus: true });
}

function updateShell(session, path) {
  const signedIn = session.stage === 'signed_in';
  layout.classList.toggle('bare', !signedIn);
  nav.hidden = !signedIn;
  who.hidden = !signedIn;
  username.textContent = session.username ?? '';
  for (const link of nav.querySelectorAll('a')) {
    if (link.getAttribute('href') === path) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  // On narrow screens the navigation scrolls sideways: keep the current page in view.
  nav.querySelector('[aria-current]')?.scrollIntoView({ block: 'nearest', inline: 'nearest' });
}

async function render({ focus = false } = {}) {
  const seq = ++renderSeq;
  for (const leave of leaveHandlers) leave();
  leaveHandlers = [];
  let session;
  try {
    session = await api.get('/v1/session');
  } catch (err) {
    replace(main, errorNotice(err, { retry: () => render({ focus: true }) }));
    return;
  }
  if (seq !== renderSeq) return;
  const path = location.pathname;
  const target = destination(path, session.stage);
  if (new URL(target, location.origin).pathname !== path) {
    navigate(target, { replace: true });
    return;
  }
  const view = ROUTES[path];
  const expired = path === '/signin' && new URLSearchParams(location.search).get('expired') === '1';
  if (expired) session = { ...session, stage: 'anonymous', expired: true };
  updateShell(session, path);
  document.title = `${view.title} — Keyward`;
  main.replaceChildren();
  const ctx = {
    session,
    navigate,
    next: safeNext(currentNext()),
    refresh: () => render({ focus: false }),
    onLeave: (fn) => leaveHandlers.push(fn),
  };
  try {
    await view.render(main, ctx);
  } catch (err) {
    if (seq !== renderSeq) return;
    if (isProblem(err, 'unauthenticated') && !OPEN.has(path)) {
      navigate(`/signin?expired=1&next=${encodeURIComponent(path)}`, { replace: true });
      return;
    }
    main.append(errorNotice(err, { retry: () => render({ focus: true }) }));
  }
  if (focus && seq === renderSeq) (main.querySelector('h1') ?? main).focus();
}

// Same-origin links to app pages navigate in place; everything else loads.
document.addEventListener('click', (event) => {
  if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const link = event.target.closest?.('a[href]');
  if (!link || link.target || link.hasAttribute('download')) return;
  const url = new URL(link.href, location.origin);
  if (url.origin !== location.origin || !Object.hasOwn(ROUTES, url.pathname)) return;
  event.preventDefault();
  navigate(url.pathname + url.search);
});

window.addEventListener('popstate', () => render({ focus: true }));

document.getElementById('signout').addEventListener('click', async (event) => {
  const button = event.currentTarget;
  button.disabled = true;
  try {
    await api.post('/v1/signout');
  } catch {
    // Signed out already (or the session expired): either way, start again.
  }
  button.disabled = false;
  navigate('/signin');
});

if (!Object.hasOwn(ROUTES, location.pathname)) {
  replace(main, h('h1', {}, 'Page not found'), h('p', {}, h('a', { href: '/' }, 'Go to your account')));
} else {
  render();
}
