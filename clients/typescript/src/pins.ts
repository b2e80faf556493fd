// Where an exchange keeps the key chains it pinned: one Pin per user. The
// exchange owns this store — it is what makes Keyward's database untrusted
// — so it lives on the exchange's side: memory for tests, a file, or the
// exchange's own database through the PinStore interface.

import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import { PinStoreError } from './errors.js';
import { readPin, type Pin } from './wire.js';

export type { Pin };

/**
 * A store of pinned key chains, keyed by the username the exchange asks
 * Keyward about. `put` must be durable before it resolves: a pin lost after
 * an approval was paid lets a rewritten chain be taken on first use again.
 */
export interface PinStore {
  get(user: string): Promise<Pin | undefined>;
  put(user: string, pin: Pin): Promise<void>;
}

/** Pins in memory (tests, or a process that re-pins on start). */
export class MemoryPins implements PinStore {
  private readonly pins = new Map<string, Pin>();
  async get(user: string) {
    const p = this.pins.get(user);
    return p && { ...p };
  }
  async put(user: string, pin: Pin) {
    this.pins.set(user, { ...pin });
  }
}

/**
 * Pins in one JSON file, the same format as keyward-client's FilePins
 * (`{"<user>": {"user", "genesis", "head", "seq"}}`), rewritten whole
 * through a temporary file, synced and renamed, so a crash leaves the old
 * file or the new one. Calls are serialised within the process.
 */
export class FilePins implements PinStore {
  private queue: Promise<unknown> = Promise.resolve();
  constructor(readonly path: string) {}

  private serial<T>(f: () => Promise<T>): Promise<T> {
    const next = this.queue.then(f, f);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async read(): Promise<Record<string, Pin>> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw new PinStoreError(`${this.path}: ${(e as Error).message}`);
    }
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (e) {
      throw new PinStoreError(`${this.path}: ${(e as Error).message}`);
    }
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new PinStoreError(`${this.path}: not a map of pins`);
    const out: Record<string, Pin> = {};
    for (const [user, v] of Object.entries(raw)) {
      const pin = readPin(v);
      if (!pin) throw new PinStoreError(`${this.path}: the pin of ${user} is malformed`);
      out[user] = pin;
    }
    return out;
  }

  get(user: string): Promise<Pin | undefined> {
    return this.serial(async () => {
      const pins = await this.read();
      return Object.prototype.hasOwnProperty.call(pins, user) ? pins[user] : undefined;
    });
  }

  put(user: string, pin: Pin): Promise<void> {
    return this.serial(async () => {
      const pins = await this.read();
      pins[user] = pin;
      // Sorted like the Rust store's BTreeMap, so both write the same file.
      const sorted = Object.fromEntries(Object.entries(pins).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
      const temp = `${this.path}.tmp`;
      try {
        await mkdir(dirname(this.path), { recursive: true });
        const f = await open(temp, 'w');
        try {
          await f.writeFile(JSON.stringify(sorted, null, 2));
          await f.sync();
        } finally {
          await f.close();
        }
        await rename(temp, this.path);
      } catch (e) {
        throw new PinStoreError(`${this.path}: ${(e as Error).message}`);
      }
    });
  }
}
