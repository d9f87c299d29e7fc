// The slot table behind the HTTP modules' connection caps: per address, in all, the operator's
// reserve, and slots given back exactly once.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { isRefusal, PeerSlots, type Slot, type SlotRefusal } from './peer-slots.ts';
import { isLoopback } from './peer.ts';

const taken = (r: Slot | SlotRefusal): Slot => {
  assert.not.ok(isRefusal(r), `refused: ${isRefusal(r) ? r.text : ''}`);
  return r as Slot;
};

test('one address holds at most maxPerAddress; another address still gets in', () => {
  const t = new PeerSlots({ maxConnections: 10, maxPerAddress: 2, operatorReserve: 0 }, isLoopback);
  const a = [taken(t.take('10.0.0.1')), taken(t.take('10.0.0.1'))];
  const r = t.take('10.0.0.1');
  assert.ok(isRefusal(r) && r.reason === 'per-address', 'the third from one address is refused');
  assert.match((r as SlotRefusal).text, /10\.0\.0\.1 \(limit 2\)/);
  taken(t.take('10.0.0.2'));
  a[0]!.release();
  a[0]!.release(); // idempotent
  assert.is(t.held('10.0.0.1'), 1);
  taken(t.take('10.0.0.1'));
  assert.is(t.connections, 3);
});

test('strangers leave the operator\'s reserve free; the operator may use every slot', () => {
  const t = new PeerSlots({ maxConnections: 4, maxPerAddress: 4, operatorReserve: 2 }, isLoopback);
  taken(t.take('10.0.0.1'));
  taken(t.take('10.0.0.2'));
  const r = t.take('10.0.0.3');
  assert.ok(isRefusal(r) && r.reason === 'full', 'a third stranger is refused');
  assert.match((r as SlotRefusal).text, /2 reserved for the operator/);
  taken(t.take('127.0.0.1'));
  taken(t.take('::1'));
  const full = t.take('127.0.0.1');
  assert.ok(isRefusal(full) && full.reason === 'full', 'nobody beyond maxConnections');
});

test('new limits apply to newcomers; bad limits are refused', () => {
  const t = new PeerSlots({ maxConnections: 4, maxPerAddress: 4, operatorReserve: 0 }, () => false);
  const held = [taken(t.take('a')), taken(t.take('a'))];
  t.setLimits({ maxConnections: 4, maxPerAddress: 1, operatorReserve: 0 });
  assert.ok(isRefusal(t.take('a')));
  for (const s of held) s.release();
  taken(t.take('a'));
  assert.throws(() => t.setLimits({ maxConnections: 0, maxPerAddress: 1, operatorReserve: 0 }), /maxConnections/);
  assert.throws(() => new PeerSlots({ maxConnections: 2, maxPerAddress: 1, operatorReserve: 3 }, () => false), /operatorReserve/);
});

test.run();
