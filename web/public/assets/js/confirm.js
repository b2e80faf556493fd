// The hosted confirmation page, /confirm/{id}: shows exactly what is being
// approved (the full destination, grouped so look-alikes show), the user's
// anti-phishing phrase and the time left; a key touch approves; the result is
// stated plainly. Not signed in → sign in, then back here.

import { api, isProblem } from './api.js';
import { addressEl, addressHint } from './address.js';
import { h, replace } from './dom.js';
import { explain, POLICY, riskReason } from './messages.js';
import { notice } from './notice.js';
import { clock, formatExact } from './time.js';
import { approveStepUp } from './webauthn.js';

const main = document.getElementById('main');
const id = decodeURIComponent(location.pathname.split('/')[2] ?? '');

const TITLES = {
  withdrawal: 'Approve this withdrawal',
  'address.add': 'Approve a new withdrawal address',
  'api_key.create': 'Approve a new API key',
};

// What a request is, for headings that say where it stands.
const NOUNS = {
  withdrawal: 'Withdrawal',
  'address.add': 'New withdrawal address',
  'api_key.create': 'New API key',
};

const STATES = {
  approved: 'approved',
  redeemed: 'approved and carried out',
  expired: 'expired',
  held: 'on hold',
  denied: 'refused',
  refused: 'refused',
  declined: 'declined',
};

// Where the user can fix what a refusal names.
const FIXES = {
  address_not_allowed: ['/addresses', 'Add this address to your withdrawal addresses'],
  address_cooling_off: ['/addresses', 'See when the address can be used'],
  account_frozen: ['/freeze', 'Unfreeze your account'],
};

function zoned(iso) {
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  return zone ? `${formatExact(iso)} (${zone} time)` : formatExact(iso);
}

/** To sign-in and back; `expired` when the server ended a session that looked alive. */
function signIn({ expired = false } = {}) {
  const next = encodeURIComponent(location.pathname);
  location.replace(`/signin?${expired ? 'expired=1&' : ''}next=${next}`);
}

function row(term, ...value) {
  return [h('dt', {}, term), h('dd', {}, ...value)];
}

function detailsList(action, d) {
  if (action === 'withdrawal') {
    return h('dl', { class: 'details' },
      row('Amount', h('span', { class: 'amount' }, `${d.amount} ${d.asset}`)),
      row('Network', d.network),
      row('To address', addressEl(d.destination, { big: true })),
      d.memo ? row('Memo / tag', h('code', {}, d.memo)) : null,
      row('Reference', h('code', {}, d.client_reference)));
  }
  if (action === 'address.add') {
    return h('dl', { class: 'details' },
      row('Network', d.network),
      row('Address', addressEl(d.address, { big: true })),
      d.memo ? row('Memo', h('code', {}, d.memo)) : null,
      row('Label', d.label || '—'));
  }
  if (action === 'api_key.create') {
    return h('dl', { class: 'details' },
      row('Name', d.label),
      row('Access', (d.scopes ?? []).join(', ')),
      row('IP allow-list', (d.ip_allowlist ?? []).join(', ') || 'any address'),
      row('Stops working', d.expires_in_days ? `${d.expires_in_days} days after it is created` : 'after the longest period allowed'));
  }
  return h('dl', { class: 'details' }, Object.entries(d ?? {}).map(([k, v]) => row(k, String(v))));
}

function phraseBox(phrase) {
  if (!phrase) {
    return h('div', { class: 'phrase missing' },
      h('div', {}, h('div', { class: 'label' }, 'No anti-phishing phrase'),
        h('div', {}, 'Set one in ', h('a', { href: '/settings' }, 'Settings'), ' so you can always tell a real Keyward page from a copy.')));
  }
  return h('div', { class: 'phrase' },
    h('div', {}, h('div', { class: 'label' }, 'Your anti-phishing phrase'),
      h('div', { class: 'value' }, phrase),
      h('div', { class: 'hint' }, 'Not your phrase? Close this page and do not touch your key.')));
}

/** The final state: approved, or not (and why). */
function result(kind, title, text, extra = []) {
  const card = h('div', { class: 'card' },
    h('div', { class: `result ${kind}`, role: kind === 'approved' ? 'status' : 'alert' },
      h('img', { class: 'mark', src: `/assets/img/${kind}.svg`, alt: '' }),
      h('h2', { tabindex: '-1' }, title),
      h('p', {}, text)),
    extra);
  return card;
}

/**
 * What is left of the daily limit, for a withdrawal refused for it: the
 * limit covers any 24 hours, so room comes back as earlier withdrawals turn
 * 24 hours old; the server says when this amount would fit.
 */
function limitLeft(limit, amount) {
  if (!limit) return [];
  const { asset, left, used } = limit;
  const facts = h('p', { class: 'limit-left' },
    'Left of your daily limit now: ', h('strong', {}, `${left} ${asset}`),
    ` of ${limit.limit} ${asset} (${used} ${asset} sent in the last 24 hours).`);
  let when;
  if (!limit.fits_from) {
    when = `${amount} ${asset} is more than your whole daily limit, so it can never be sent as one withdrawal. Ask the exchange for a smaller one.`;
  } else if (new Date(limit.fits_from).getTime() <= Date.now()) {
    when = `${amount} ${asset} can be sent now: ask the exchange for a new withdrawal.`;
  } else {
    when = `${amount} ${asset} can be sent from ${zoned(limit.fits_from)}, when earlier withdrawals stop counting (each counts for 24 hours). Ask the exchange for a new withdrawal then${left === '0' ? '' : `, or for at most ${left} ${asset} now`}.`;
  }
  return [facts, h('p', {}, when)];
}

/** The risk signals that fired for this request, in plain words (none: nothing). */
function noticed(reasons) {
  if (!reasons?.length) return null;
  const sentence = (text) => text.charAt(0).toUpperCase() + text.slice(1);
  const items = reasons.map((r) => h('li', {}, sentence(riskReason(r))));
  return h('div', { class: 'noticed' }, h('h2', {}, 'What Keyward noticed'), h('ul', {}, items));
}

function statusResult(stepUp, summary = {}) {
  switch (stepUp.status) {
    case 'approved':
      return result('approved', 'Already approved', 'This request was approved with your security key. Nothing more to do here.');
    case 'redeemed':
      return result('approved', 'Approved and carried out', 'This request was approved and the exchange has carried it out.');
    case 'declined':
      return result('refused', 'You declined this request', 'It will not happen, and the exchange has been told. If you did not ask for it, freeze your account and change your password.');
    case 'expired':
      return result('refused', 'This request expired', 'It was not approved in time, so it will not happen. If you still want it, start again from the exchange.');
    case 'held': {
      const reason = String(stepUp.reason ?? '');
      const until = stepUp.held_until ? ` until ${zoned(stepUp.held_until)}` : '';
      return result('refused', `On hold${until}`,
        `${POLICY[reason] ?? 'Withdrawals are on hold after a recent security change.'} This request cannot be approved; the exchange can ask again once the hold is over.`);
    }
    default: {
      const reason = String(stepUp.reason ?? '').replace(/^held:/, '');
      const fix = FIXES[reason];
      const extra = fix ? [h('p', {}, h('a', { class: 'btn secondary', href: fix[0] }, fix[1]))] : [];
      if (reason === 'daily_limit_exceeded') extra.push(...limitLeft(summary.daily_limit, stepUp.details?.amount));
      return result('refused', 'This request was refused', POLICY[reason] ?? 'Keyward\'s withdrawal rules refused it, so it cannot be approved.', extra);
    }
  }
}

function render(summary) {
  const { step_up: stepUp, anti_phishing_phrase: phrase } = summary;
  const deadline = Date.now() + Math.max(0, summary.seconds_left) * 1000;
  const heading = h('h1', { tabindex: '-1' }, TITLES[stepUp.action] ?? 'Approve this request');
  document.title = `${heading.textContent} — Keyward`;
  const intro = [phraseBox(phrase), heading];

  if (stepUp.status !== 'pending') {
    // The heading says where the request stands, not what to do.
    heading.textContent = `${NOUNS[stepUp.action] ?? 'Request'} ${STATES[stepUp.status] ?? stepUp.status}`;
    document.title = `${heading.textContent} — Keyward`;
    replace(main, h('div', { class: 'card' }, intro, detailsList(stepUp.action, stepUp.details), noticed(stepUp.reasons)), statusResult(stepUp, summary));
    return;
  }

  const timer = h('span', { class: 'timer', role: 'timer', 'aria-live': 'off' });
  const approve = h('button', { type: 'button', class: 'btn big block' }, 'Approve with security key');
  const cancel = h('button', { type: 'button', class: 'btn secondary', hidden: true }, 'Cancel');
  const decline = h('button', { type: 'button', class: 'btn secondary block' }, 'Decline — I did not ask for this');
  const art = h('img', { class: 'key-art pulse', src: '/assets/img/key.svg', alt: '', hidden: true });
  const touchText = h('div', { class: 'touch', 'aria-live': 'polite' });
  const slot = h('div');
  const actionArea = h('div', {}, slot, art, touchText, approve, h('div', { class: 'row below' }, cancel), h('div', { class: 'below' }, decline));
  const card = h('div', { class: 'card' },
    intro,
    h('p', { class: 'lead' }, 'Check every detail below. Approve only if it is exactly what you asked for.'),
    detailsList(stepUp.action, stepUp.details),
    noticed(stepUp.reasons),
    stepUp.action !== 'api_key.create' ? h('p', { class: 'hint' }, addressHint()) : null,
    h('p', {}, 'Time left to approve: ', timer, ' (until ', zoned(stepUp.expires_at), ')'),
    actionArea,
    h('p', { class: 'below' }, 'Did not ask for this? Do not touch your key — ', h('a', { href: '/freeze' }, 'freeze your account'), '.'),
    h('details', { class: 'hint' }, h('summary', {}, 'Request fingerprint'), h('p', { class: 'digest' }, stepUp.digest)));
  replace(main, card);

  let controller = null;
  let over = false;
  const noun = NOUNS[stepUp.action] ?? 'Request';
  const finish = (node, state) => {
    over = true;
    heading.textContent = `${noun} ${state}`;
    document.title = `${heading.textContent} — Keyward`;
    clearInterval(ticker);
    controller?.abort();
    replace(main, h('div', { class: 'card' }, intro, detailsList(stepUp.action, stepUp.details)), node);
    node.querySelector('h2')?.focus();
  };

  const tick = () => {
    const left = Math.max(0, Math.round((deadline - Date.now()) / 1000));
    timer.textContent = clock(left);
    timer.classList.toggle('low', left <= 30);
    if (left === 0 && !over) {
      finish(result('refused', 'This request expired', 'It was not approved in time, so it will not happen. If you still want it, start again from the exchange.'), 'expired');
    }
  };
  const ticker = setInterval(tick, 1000);
  tick();

  const waiting = (on) => {
    approve.hidden = on;
    decline.hidden = on;
    cancel.hidden = !on;
    art.hidden = !on;
    replace(touchText, on ? [h('h2', {}, 'Touch your security key to approve'), h('p', {}, 'Plug it in and touch it when it blinks.')] : []);
  };

  cancel.addEventListener('click', () => controller?.abort());
  decline.addEventListener('click', async () => {
    try {
      await api.post(`/v1/step-ups/${encodeURIComponent(stepUp.id)}/decline`);
    } catch (err) {
      if (isProblem(err, 'unauthenticated')) { signIn({ expired: true }); return; }
      const what = explain(err);
      replace(slot, notice('error', what.title, what.text));
      return;
    }
    finish(result('refused', 'You declined this request', 'It will not happen, and the exchange has been told. If you did not ask for it, freeze your account and change your password.',
      [h('p', {}, h('a', { class: 'btn secondary', href: '/freeze' }, 'Freeze my account'))]), 'declined');
  });
  approve.addEventListener('click', async () => {
    replace(slot);
    controller = new AbortController();
    waiting(true);
    cancel.focus();
    try {
      const answer = await approveStepUp(stepUp.id, controller.signal);
      finish(result('approved', 'Approved',
        stepUp.action === 'withdrawal'
          ? 'Your security key approved this withdrawal. The exchange can now send it. You can close this page.'
          : 'Your security key approved this. You can close this page.',
        answer.approval_expires_at ? [h('p', { class: 'hint' }, `The approval is valid until ${zoned(answer.approval_expires_at)}.`)] : []), 'approved');
    } catch (err) {
      if (over) return;
      waiting(false);
      if (isProblem(err, 'step-up-expired', 'step-up-not-pending', 'policy-refused', 'not-found')) {
        const what = explain(err);
        finish(result('refused', 'Not approved', `${what.title}. ${what.text}`), 'not approved');
        return;
      }
      if (isProblem(err, 'unauthenticated')) { signIn({ expired: true }); return; }
      const what = explain(err, 'get');
      replace(slot, notice('error', `Not approved: ${what.title.charAt(0).toLowerCase()}${what.title.slice(1)}`, what.text));
      approve.textContent = 'Try again';
      approve.focus();
    }
  });
}

async function start() {
  let session;
  try {
    session = await api.get('/v1/session');
  } catch (err) {
    const what = explain(err);
    replace(main, notice('error', what.title, what.text));
    return;
  }
  if (session.stage !== 'signed_in') { signIn(); return; }
  document.getElementById('username').textContent = session.username ?? '';
  document.getElementById('who').hidden = false;
  try {
    render(await api.get(`/v1/step-ups/${encodeURIComponent(id)}/summary`));
  } catch (err) {
    if (isProblem(err, 'unauthenticated')) { signIn({ expired: true }); return; }
    if (isProblem(err, 'not-found')) {
      replace(main, result('refused', 'No such request', 'This link does not match any request waiting for you. Check that you followed the link from the exchange, and that you are signed in to the right account.'));
      return;
    }
    const what = explain(err);
    replace(main, notice('error', what.title, what.text, [h('button', { type: 'button', class: 'btn small secondary', on: { click: start } }, 'Try again')]));
  }
  main.querySelector('h1, h2')?.focus();
}

start();
