// Withdrawal addresses: the allow-list. Adding one needs a key touch and a
// waiting period before it can be used; removing one takes effect at once.

import { api } from '../api.js';
import { addressEl, addressHint } from '../address.js';
import { busy, field, h, meta, pageHead, replace } from '../dom.js';
import { fieldMessage } from '../messages.js';
import { errorNotice, notice, show } from '../notice.js';
import { formatWithZone, timeEl } from '../time.js';
import { confirmDialog, withKeyPrompt } from '../touch.js';
import { approveStepUp } from '../webauthn.js';

export default { title: 'Withdrawal addresses', render };

const NETWORKS = ['bitcoin', 'ethereum', 'tron', 'solana', 'polygon', 'arbitrum', 'base', 'litecoin'];

async function render(main) {
  const flash = h('div');
  const listCard = h('section', { class: 'card', 'aria-labelledby': 'addr-h' });
  replace(main,
    pageHead('Withdrawal addresses', 'Withdrawals can only go to addresses on this list. A new address needs a touch of your security key and then a waiting period, so a thief cannot add theirs and withdraw at once.'),
    flash, listCard, addCard(flash, () => load()));

  async function load() {
    const { addresses } = await api.get('/v1/addresses');
    replace(listCard,
      h('h2', { id: 'addr-h' }, `Your addresses (${addresses.length})`),
      addresses.length === 0
        ? h('p', { class: 'empty' }, 'No addresses yet. Add one below before your first withdrawal.')
        : h('ul', { class: 'items' }, addresses.map((a) => item(a, flash, load))),
      addresses.length ? h('p', { class: 'hint' }, addressHint()) : null);
    return addresses;
  }
  await load();
}

function item(a, flash, reload) {
  const remove = h('button', { type: 'button', class: 'btn small danger-outline', 'aria-label': `Remove ${a.label || a.address}` }, 'Remove');
  remove.addEventListener('click', async () => {
    const sure = await confirmDialog({
      title: 'Remove this address?',
      text: ['Withdrawals to it stop immediately.', 'Adding it back later needs a key touch and a new waiting period.'],
      confirm: 'Remove address',
      danger: true,
    });
    if (!sure) return;
    const done = busy(remove, 'Removing…');
    try {
      await api.del(`/v1/addresses/${a.id}`);
    } catch (err) {
      done();
      show(flash, errorNotice(err));
      return;
    }
    show(flash, notice('ok', 'Address removed', 'Withdrawals to it are no longer possible.'));
    await reload();
  });
  return h('li', {},
    h('div', { class: 'item-main' },
      h('p', { class: 'item-title' }, a.label || 'Unnamed address',
        h('span', { class: 'badge muted' }, a.network),
        a.usable
          ? h('span', { class: 'badge ok' }, 'Ready')
          : h('span', { class: 'badge warn' }, `Usable from ${formatWithZone(a.usable_from)}`)),
      h('p', {}, addressEl(a.address)),
      a.memo ? h('p', {}, 'Memo: ', h('code', {}, a.memo)) : null,
      meta([['Added', timeEl(a.created_at)], ['Usable from', timeEl(a.usable_from, { relative: !a.usable })]])),
    h('div', { class: 'item-actions' }, remove));
}

function addCard(flash, reload) {
  const listId = 'networks';
  const network = field('Network', { hint: 'The blockchain network, e.g. bitcoin or ethereum.', input: { list: listId, autocomplete: 'off', autocapitalize: 'none', spellcheck: 'false', maxlength: '32' } });
  const address = field('Address', { hint: 'Paste it, then compare it with the source character by character.', input: { autocomplete: 'off', autocapitalize: 'none', spellcheck: 'false', maxlength: '128', class: 'mono' } });
  const memo = field('Memo or destination tag (optional)', { hint: 'Only for chains that use one (for example XRP or Stellar), to credit your account there. Withdrawals to this address must then carry exactly this memo.', input: { maxlength: '64', autocomplete: 'off', autocapitalize: 'none', spellcheck: 'false', class: 'mono' } });
  const label = field('Label (optional)', { input: { maxlength: '64', autocomplete: 'off' } });
  const submit = h('button', { type: 'submit', class: 'btn' }, 'Add address');
  const errors = h('div');
  const form = h('form', { novalidate: true }, errors, network.wrap, address.wrap, memo.wrap, label.wrap, submit,
    h('datalist', { id: listId }, NETWORKS.map((n) => h('option', { value: n }))));
  const fields = { network, address, memo, label };

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    show(errors, null);
    for (const f of Object.values(fields)) f.setError(null);
    const body = { network: network.input.value.trim(), address: address.input.value.trim() };
    const name = label.input.value.trim();
    if (name) body.label = name;
    const memoText = memo.input.value.trim();
    if (memoText) body.memo = memoText;
    if (!body.network) { network.setError('Choose the network.'); network.input.focus(); return; }
    if (!body.address) { address.setError('Enter the address.'); address.input.focus(); return; }
    const done = busy(submit, 'Waiting for your key…');
    let stepUp;
    try {
      ({ step_up: stepUp } = await api.post('/v1/addresses', body));
    } catch (err) {
      done();
      const target = err.slug === 'validation' && fields[String(err.field).split('.').pop()];
      if (target) { target.setError(fieldMessage(err)); target.input.focus(); } else show(errors, errorNotice(err));
      return;
    }
    const summary = h('div', { class: 'summary-box' }, h('dl', {},
      h('dt', {}, 'Network'), h('dd', {}, body.network),
      h('dt', {}, 'Address'), h('dd', {}, addressEl(body.address)),
      body.memo ? [h('dt', {}, 'Memo'), h('dd', {}, h('code', {}, body.memo))] : null,
      name ? [h('dt', {}, 'Label'), h('dd', {}, name)] : null));
    const approved = await withKeyPrompt({
      title: 'Touch your security key to add this address',
      text: 'Check the address above first. Only touch your key if it is exactly right.',
      summary,
      context: 'get',
    }, (ui) => approveStepUp(stepUp.id, ui.signal));
    done();
    if (!approved) {
      show(errors, notice('info', 'Address not added', 'You did not approve it with your key, so nothing changed.'));
      return;
    }
    form.reset();
    const list = await reload();
    const added = list.find((a) => a.network === body.network && a.address === body.address);
    const when = added && !added.usable ? `You can withdraw to it from ${formatWithZone(added.usable_from)}.` : 'You can withdraw to it now.';
    show(flash, notice('ok', 'Address added', when));
    flash.scrollIntoView({ block: 'nearest' });
  });

  return h('section', { class: 'card', 'aria-labelledby': 'add-addr-h' }, h('h2', { id: 'add-addr-h' }, 'Add an address'), form);
}
