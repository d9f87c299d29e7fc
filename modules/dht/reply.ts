// What a peer answered to a BEP 44 `get`, judged: a valid item, no item (just nodes), or refused
// and why. A forged or tampered answer must never be taken: a mutable item needs a key that, with
// the salt asked for, hashes to the target asked for, and a signature by that key over its value,
// seq and salt; an immutable item's bencoded value must hash to the target. Pure, no I/O.
import { immutableTarget, itemValid, itemValue, mutableTarget, type ItemValue, type MutableItem } from './item.ts';

/** Why an item (in a reply, or in a put sent to us) was refused. */
export type Refusal = 'malformed' | 'signature' | 'key' | 'hash' | 'seq' | 'size';

export type Verdict<T> = { ok: T } | { refused: Refusal } | null;

const isBuf = (b: unknown, len?: number): b is Buffer => Buffer.isBuffer(b) && (len === undefined || b.length === len);
const isDict = (r: unknown): r is Record<string, unknown> => r !== null && typeof r === 'object' && !Array.isArray(r) && !Buffer.isBuffer(r);

/** A reply's `r` to a get of the mutable item (target, salt). null: it holds no value. */
export function judgeMutable(r: unknown, target: Buffer, salt?: Buffer): Verdict<MutableItem> {
  if (!isDict(r) || r.v === undefined) return null;
  const value = itemValue(r.v);
  const { k, sig, seq } = r;
  if (!value || !isBuf(k, 32) || !isBuf(sig, 64) || !Number.isSafeInteger(seq) || (seq as number) < 0) return { refused: 'malformed' };
  if (!mutableTarget(k, salt).equals(target)) return { refused: 'key' };
  const item: MutableItem = { ...value, k, sig, seq: seq as number, ...(salt && salt.length ? { salt } : {}) };
  if (!itemValid(item, salt)) return { refused: 'signature' };
  return { ok: item };
}

/** A reply's `r` to a get of the immutable item `target`. null: it holds no value. */
export function judgeImmutable(r: unknown, target: Buffer): Verdict<ItemValue> {
  if (!isDict(r) || r.v === undefined) return null;
  const value = itemValue(r.v);
  if (!value) return { refused: 'malformed' };
  if (!immutableTarget(value).equals(target)) return { refused: 'hash' };
  return { ok: value };
}
