import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LedgerError } from '../ledger/index.js';
import { appendDurably, syncDirectory, writeDurably } from './durable-file.js';
import type { DeadLetter } from './webhook-view.js';

/** How a replay settled one dead letter. */
export type Settled =
  /** The receiver accepted it (2xx) this time. */
  | { readonly outcome: 'sent' }
  /** The log has moved the phone's row on since: a later push carries its state, so it is not resent. */
  | { readonly outcome: 'superseded' }
  /** An unreadable record without a key: there is no change to send, only an operator's acknowledgement. */
  | { readonly outcome: 'unsendable' }
  /** Refused again: it stays owed, with this attempt's count and error. */
  | { readonly outcome: 'failed'; readonly letter: DeadLetter };

/** A line of `<name>.dead-letter.replayed.jsonl`: a dead letter no longer owed, and why. */
export type ReplayedLetter = DeadLetter & {
  readonly outcome: 'sent' | 'superseded' | 'unsendable';
  readonly replayedAt: string;
};

/**
 * The changes a webhook view owes its receiver: `<name>.dead-letter.jsonl`, one JSON line per change the
 * receiver never accepted, appended and fsynced before the view moves on. The file is the truth and
 * memory a copy of it, read back at every start — so "this view has unreplayed dead letters" survives a
 * restart. A replay settles letters: those no longer owed move (appended, fsynced) to
 * `<name>.dead-letter.replayed.jsonl` for the operator's record, then the owed file is rewritten
 * (temporary file, rename) without them. A crash between the two leaves a letter in both files: it is
 * still owed and sent again with the same idempotency key, which the receiver dedupes — never lost.
 */
export class DeadLetterFile {
  readonly file: string;
  readonly archive: string;
  /** By idempotency key, in file order (a key written twice, by a batch re-fed after a crash, counts once). */
  private owed = new Map<string, DeadLetter>();
  /** Per phone, the keys owed for it. */
  private byPhone = new Map<string, Set<string>>();
  private keyless = 0;
  private loading: Promise<void> | undefined;
  /** One file operation at a time: appends from delivery, rewrites from a replay. */
  private queue: Promise<unknown> = Promise.resolve();
  private directorySynced = false;

  constructor(
    private readonly dir: string,
    name: string,
  ) {
    this.file = join(dir, `${name}.dead-letter.jsonl`);
    this.archive = join(dir, `${name}.dead-letter.replayed.jsonl`);
  }

  /** Reads the file once (later calls share the first read). */
  load(): Promise<void> {
    this.loading ??= this.serially(() => this.read());
    return this.loading;
  }

  get size(): number {
    return this.owed.size;
  }

  get phones(): number {
    return this.byPhone.size;
  }

  /** Letters with no phone to fail closed for (an unreadable record without a key). */
  get unattributed(): number {
    return this.keyless;
  }

  /** The first letter owed for the phone, if any. */
  owedFor(phone: string): DeadLetter | undefined {
    const keys = this.byPhone.get(phone);
    if (keys === undefined) return undefined;
    for (const key of keys) return this.owed.get(key);
    return undefined;
  }

  /** Every owed letter, in the order they were written. */
  list(): DeadLetter[] {
    return [...this.owed.values()];
  }

  /** The most recently written letter still owed. */
  latest(): DeadLetter | undefined {
    let last: DeadLetter | undefined;
    for (const letter of this.owed.values()) last = letter;
    return last;
  }

  /** Appends the letter, on disk before it resolves. */
  async add(letter: DeadLetter): Promise<void> {
    await this.serially(async () => {
      await appendDurably(this.file, `${JSON.stringify(letter)}\n`);
      if (!this.directorySynced) {
        // The file may be new: its directory entry must be on disk too.
        await syncDirectory(this.dir);
        this.directorySynced = true;
      }
      const again = this.owed.has(letter.idempotencyKey);
      this.owed.set(letter.idempotencyKey, letter);
      // The same key means the same change (a batch fed again): already indexed.
      if (again) return;
      const phone = letter.body?.phone;
      if (phone === undefined) {
        this.keyless += 1;
        return;
      }
      let keys = this.byPhone.get(phone);
      if (keys === undefined) this.byPhone.set(phone, (keys = new Set()));
      keys.add(letter.idempotencyKey);
    });
  }

  /** Records what a replay did: settled letters to the archive, the failed with their new attempt. */
  async settle(results: ReadonlyMap<string, Settled>, now: Date): Promise<void> {
    if (results.size === 0) return;
    await this.serially(async () => {
      const next = new Map(this.owed);
      const archived: string[] = [];
      for (const [key, result] of results) {
        const letter = next.get(key);
        if (letter === undefined) continue;
        if (result.outcome === 'failed') {
          next.set(key, result.letter);
        } else {
          next.delete(key);
          const line: ReplayedLetter = { ...letter, outcome: result.outcome, replayedAt: now.toISOString() };
          archived.push(`${JSON.stringify(line)}\n`);
        }
      }
      if (archived.length > 0) await appendDurably(this.archive, archived.join(''));
      await writeDurably(this.dir, this.file, lines(next));
      this.index(next);
    });
  }

  private async read(): Promise<void> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    const parts = text.split('\n');
    // After the last newline: empty, or the torn end of an append a crash cut short. That append's batch
    // never finished, so it is fed again and the change dead-lettered again; the fragment is dropped.
    const tail = parts.pop() ?? '';
    const owed = new Map<string, DeadLetter>();
    parts.forEach((line, index) => {
      if (line.trim() === '') return;
      const letter = parseLetter(line);
      if (letter === undefined) {
        throw new LedgerError(
          'invalid_config',
          `${this.file} line ${index + 1} is not a dead letter; it may be a change the receiver never accepted: repair or move that line, then start again`,
        );
      }
      owed.set(letter.idempotencyKey, letter);
    });
    const last = parseLetter(tail);
    if (last !== undefined) owed.set(last.idempotencyKey, last);
    if (tail !== '') {
      // Later appends must start on a line of their own.
      await writeDurably(this.dir, this.file, lines(owed));
    }
    this.index(owed);
  }

  private index(owed: Map<string, DeadLetter>): void {
    const byPhone = new Map<string, Set<string>>();
    let keyless = 0;
    for (const [key, letter] of owed) {
      const phone = letter.body?.phone;
      if (phone === undefined) {
        keyless += 1;
        continue;
      }
      let keys = byPhone.get(phone);
      if (keys === undefined) byPhone.set(phone, (keys = new Set()));
      keys.add(key);
    }
    this.owed = owed;
    this.byPhone = byPhone;
    this.keyless = keyless;
  }

  private serially<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work);
    this.queue = run.catch(() => undefined);
    return run;
  }
}

function lines(owed: ReadonlyMap<string, DeadLetter>): string {
  let text = '';
  for (const letter of owed.values()) text += `${JSON.stringify(letter)}\n`;
  return text;
}

function parseLetter(line: string): DeadLetter | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { idempotencyKey, body, attempts } = value as Partial<Record<keyof DeadLetter, unknown>>;
  if (typeof idempotencyKey !== 'string' || typeof attempts !== 'number') return undefined;
  if (body !== null) {
    if (typeof body !== 'object' || body === undefined) return undefined;
    const { phone, scope } = body as { phone?: unknown; scope?: unknown };
    if (typeof phone !== 'string' || typeof scope !== 'string') return undefined;
  }
  return value as DeadLetter;
}
