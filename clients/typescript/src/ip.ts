// IP allow-list entries in the canonical text Keyward hashes
// (keyward_proof::ip::ip_entry): an address is parsed as Rust's std parses
// it and printed as std prints it (RFC 5952, `::ffff:a.b.c.d` for mapped
// IPv4); a range is parsed as the `ipnet` crate (2.12.3, pinned in
// Cargo.lock) parses it — its address as std does, its prefix length with
// leading zeros allowed — and truncated to its network. Node's `net`
// module differs on several of these, hence our own.

class Cursor {
  constructor(
    readonly s: string,
    public i = 0,
  ) {}
  atomically<T>(f: () => T | undefined): T | undefined {
    const at = this.i;
    const r = f();
    if (r === undefined) this.i = at;
    return r;
  }
  char(c: string): boolean {
    if (this.s[this.i] === c) {
      this.i++;
      return true;
    }
    return false;
  }
  digit(radix: number): number | undefined {
    const c = this.s[this.i];
    if (c === undefined) return undefined;
    const d = /[0-9]/.test(c) ? c.charCodeAt(0) - 48 : radix === 16 && /[a-fA-F]/.test(c) ? (c.toLowerCase().charCodeAt(0) - 87) : undefined;
    if (d === undefined) return undefined;
    this.i++;
    return d;
  }
}

/** std's number reader: at most `maxDigits`, below `upto`, and (when not
 * `zeroPrefix`) no leading zero before another digit. */
function stdNumber(p: Cursor, radix: number, maxDigits: number, upto: number, zeroPrefix: boolean) {
  return p.atomically(() => {
    let r = 0;
    let n = 0;
    const first = p.s[p.i];
    for (;;) {
      const at = p.i;
      const d = p.digit(radix);
      if (d === undefined) break;
      if (!zeroPrefix && n === 1 && first === '0') {
        p.i = at;
        return undefined;
      }
      r = r * radix + d;
      n++;
      if (n > maxDigits || r >= upto) return undefined;
    }
    return n === 0 ? undefined : r;
  });
}

/** ipnet's prefix-length reader: at most `maxDigits`, below `upto`, zeros allowed. */
function netNumber(p: Cursor, radix: number, maxDigits: number, upto: number) {
  return stdNumber(p, radix, maxDigits, upto, true);
}

function ipv4(p: Cursor): number[] | undefined {
  return p.atomically(() => {
    const out: number[] = [];
    for (let k = 0; k < 4; k++) {
      if (k > 0 && !p.char('.')) return undefined;
      const o = stdNumber(p, 10, 3, 256, false);
      if (o === undefined) return undefined;
      out.push(o);
    }
    return out;
  });
}

function groups(p: Cursor, limit: number): { g: number[]; v4: boolean } {
  const g: number[] = [];
  while (g.length < limit) {
    const i = g.length;
    if (i < limit - 1) {
      const v4 = p.atomically(() => (i === 0 || p.char(':') ? ipv4(p) : undefined));
      if (v4) {
        g.push(((v4[0] ?? 0) << 8) | (v4[1] ?? 0), ((v4[2] ?? 0) << 8) | (v4[3] ?? 0));
        return { g, v4: true };
      }
    }
    const group = p.atomically(() => (i === 0 || p.char(':') ? netNumber(p, 16, 4, 0x10000) : undefined));
    if (group === undefined) return { g, v4: false };
    g.push(group);
  }
  return { g, v4: false };
}

function ipv6(p: Cursor): number[] | undefined {
  return p.atomically(() => {
    const head = groups(p, 8);
    if (head.g.length === 8) return head.g;
    if (head.v4) return undefined;
    if (!p.char(':') || !p.char(':')) return undefined;
    // `::` stands for at least one group.
    const tail = groups(p, 8 - (head.g.length + 1));
    const out = [...head.g, ...new Array<number>(8 - head.g.length - tail.g.length).fill(0), ...tail.g];
    return out;
  });
}

function tillEnd<T>(s: string, f: (p: Cursor) => T | undefined): T | undefined {
  const p = new Cursor(s);
  const r = f(p);
  return r !== undefined && p.i === s.length ? r : undefined;
}

const v4Text = (o: number[]) => o.join('.');

/** std's Ipv6Addr Display. */
function v6Text(g: number[]): string {
  if (g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff) {
    const a = g[6] ?? 0;
    const b = g[7] ?? 0;
    return `::ffff:${v4Text([a >> 8, a & 0xff, b >> 8, b & 0xff])}`;
  }
  let best = { start: 0, len: 0 };
  let cur = { start: 0, len: 0 };
  g.forEach((x, i) => {
    if (x === 0) {
      if (cur.len === 0) cur.start = i;
      cur.len++;
      if (cur.len > best.len) best = { ...cur };
    } else cur = { start: 0, len: 0 };
  });
  const h = (xs: number[]) => xs.map((x) => x.toString(16)).join(':');
  if (best.len > 1) return `${h(g.slice(0, best.start))}::${h(g.slice(best.start + best.len))}`;
  return h(g);
}

function truncate(bytes: number[], prefix: number): number[] {
  return bytes.map((b, i) => {
    const keep = Math.max(0, Math.min(8, prefix - i * 8));
    return b & ((0xff << (8 - keep)) & 0xff);
  });
}

const v6Bytes = (g: number[]) => g.flatMap((x) => [x >> 8, x & 0xff]);
const v6Groups = (b: number[]) => b.flatMap((x, i) => (i % 2 === 0 ? [(x << 8) | (b[i + 1] ?? 0)] : []));

/** One allow-list entry (address or CIDR range) as canonical text, or undefined. */
export function ipEntry(s: string): string | undefined {
  const a4 = tillEnd(s, (p) => ipv4(p));
  if (a4) return v4Text(a4);
  const a6 = tillEnd(s, (p) => ipv6(p));
  if (a6) return v6Text(a6);
  const n4 = tillEnd(s, (p) =>
    p.atomically(() => {
      const a = ipv4(p);
      if (!a || !p.char('/')) return undefined;
      const len = netNumber(p, 10, 2, 33);
      return len === undefined ? undefined : { a, len };
    }),
  );
  if (n4) return `${v4Text(truncate(n4.a, n4.len))}/${n4.len}`;
  const n6 = tillEnd(s, (p) =>
    p.atomically(() => {
      const a = ipv6(p);
      if (!a || !p.char('/')) return undefined;
      const len = netNumber(p, 10, 3, 129);
      return len === undefined ? undefined : { a, len };
    }),
  );
  if (n6) return `${v6Text(v6Groups(truncate(v6Bytes(n6.a), n6.len)))}/${n6.len}`;
  return undefined;
}
