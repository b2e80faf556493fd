// Times as people read them: an exact local date and time, plus "3 minutes
// ago" where that helps. The machine-readable instant goes in <time datetime>.

import { h } from './dom.js';

const exact = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const exactSeconds = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
const relativeFormat = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });

/** "24 Nov 2025, 14:03" in the user's locale and time zone. */
export function formatExact(iso, { seconds = false } = {}) {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return (seconds ? exactSeconds : exact).format(d);
}

/** "in 2 hours" / "5 minutes ago". */
export function formatRelative(iso, now = Date.now()) {
  const d = new Date(iso).getTime();
  if (Number.isNaN(d)) return '';
  const seconds = Math.round((d - now) / 1000);
  const abs = Math.abs(seconds);
  if (abs < 45) return 'just now';
  const units = [['day', 86400], ['hour', 3600], ['minute', 60]];
  for (const [unit, size] of units) {
    if (abs >= size) return relativeFormat.format(Math.round(seconds / size), unit);
  }
  return relativeFormat.format(seconds, 'second');
}

/** A <time> element showing the exact time, with the relative time after it. */
export function timeEl(iso, { relative = false, seconds = false } = {}) {
  if (!iso) return h('span', {}, 'never');
  const text = relative ? `${formatExact(iso, { seconds })} (${formatRelative(iso)})` : formatExact(iso, { seconds });
  return h('time', { datetime: iso }, text);
}

/** "4:59" for a number of seconds. */
export function clock(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

/** "24 hours" / "3 days" for a hold given in hours. */
export function holdLength(hours) {
  const n = Number(hours) || 0;
  if (n >= 48 && n % 24 === 0) return `${n / 24} days`;
  return n === 1 ? '1 hour' : `${n} hours`;
}

/** The end of a hold of `hours` starting now: exact local time and zone. */
export function holdEnd(hours) {
  const end = formatExact(new Date(Date.now() + (Number(hours) || 0) * 3_600_000).toISOString());
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  return zone ? `${end} (${zone} time)` : end;
}

/**
 * How long a change that loosens protection (unfreezing, a key that can
 * withdraw) holds withdrawals, in hours: the usual hold, or the user's
 * security lock if that is longer.
 */
export function looseningHours(session) {
  return Math.max(Number(session.security_hold_hours) || 0, (Number(session.security_lock_days) || 0) * 24);
}

/** "7 days" / "1 day" for a security lock. */
export function lockLength(days) {
  return days === 1 ? '1 day' : `${days} days`;
}

/** An exact instant with the user's time zone named. */
export function formatWithZone(iso) {
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  return zone ? `${formatExact(iso)} (${zone} time)` : formatExact(iso);
}
