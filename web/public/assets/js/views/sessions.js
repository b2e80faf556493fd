// Sessions: where the account is signed in; end any of the others.

import { api } from '../api.js';
import { busy, h, meta, pageHead, replace } from '../dom.js';
import { errorNotice, notice, show } from '../notice.js';
import { timeEl } from '../time.js';

export default { title: 'Sessions', render };

/** "Firefox on Windows" from a user-agent string (best effort). */
export function describeAgent(ua) {
  if (!ua) return 'Unknown device';
  const browser = [['Edg/', 'Edge'], ['OPR/', 'Opera'], ['Firefox/', 'Firefox'], ['Chrome/', 'Chrome'], ['Chromium/', 'Chromium'], ['Safari/', 'Safari'], ['curl/', 'curl']]
    .find(([token]) => ua.includes(token))?.[1] ?? 'Browser';
  const os = [['Windows', 'Windows'], ['iPhone', 'iPhone'], ['iPad', 'iPad'], ['Android', 'Android'], ['Mac OS X', 'macOS'], ['CrOS', 'ChromeOS'], ['Linux', 'Linux']]
    .find(([token]) => ua.includes(token))?.[1];
  return os ? `${browser} on ${os}` : browser;
}

async function render(main) {
  const flash = h('div');
  const card = h('section', { class: 'card', 'aria-labelledby': 'sessions-h' });
  replace(main,
    pageHead('Sessions', 'Everywhere your account is signed in right now. If you do not recognise one, end it, check your security activity, and freeze your account if anything else looks wrong.'),
    flash, card);

  async function end(ids, button) {
    const done = busy(button, 'Ending…');
    try {
      for (const id of ids) await api.del(`/v1/sessions/${id}`);
    } catch (err) {
      done();
      show(flash, errorNotice(err));
      return;
    }
    show(flash, notice('ok', ids.length === 1 ? 'Session ended' : 'Other sessions ended', 'Those devices are signed out now.'));
    await load();
  }

  async function load() {
    const { sessions } = await api.get('/v1/sessions');
    const others = sessions.filter((s) => !s.current);
    const endOthers = h('button', { type: 'button', class: 'btn danger-outline', disabled: others.length === 0 }, 'Sign out all other sessions');
    endOthers.addEventListener('click', () => end(others.map((s) => s.id), endOthers));
    replace(card,
      h('h2', { id: 'sessions-h' }, `Signed in on ${sessions.length} ${sessions.length === 1 ? 'device' : 'devices'}`),
      h('ul', { class: 'items' }, sessions.map((s) => {
        const endOne = s.current ? null : h('button', { type: 'button', class: 'btn small danger-outline', 'aria-label': `End session: ${describeAgent(s.user_agent)}, ${s.ip ?? 'unknown address'}` }, 'End');
        endOne?.addEventListener('click', () => end([s.id], endOne));
        return h('li', {},
          h('div', { class: 'item-main' },
            h('p', { class: 'item-title' }, describeAgent(s.user_agent),
              s.current ? h('span', { class: 'badge ok' }, 'This session') : null),
            meta([
              ['IP address', s.ip ?? 'unknown'],
              ['Signed in', timeEl(s.created_at)],
              ['Last active', timeEl(s.last_seen_at, { relative: true })],
              ['Ends', timeEl(s.expires_at)],
            ])),
          h('div', { class: 'item-actions' }, endOne));
      })),
      h('div', { class: 'row' }, endOthers));
  }
  await load();
}
