// The dashboard's pure parts: what counts as loopback, the token gate, the graph model (edges,
// missing providers, a refused cycle), and reading a cycle out of the host's error.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { IncomingMessage } from 'node:http';
import { Gate, checkListen, isLoopback } from '../access.ts';
import { graphView } from '../graph.ts';
import type { InstanceView } from '../protocol.ts';
import { cycleOf } from '../view.ts';

test('loopback is 127.0.0.0/8, ::1 (any spelling) and localhost; nothing else', () => {
  for (const h of ['127.0.0.1', '127.0.0.2', '127.255.1.9', '::1', '[::1]', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1', 'localhost', 'LOCALHOST']) {
    assert.ok(isLoopback(h), `${h} is loopback`);
  }
  for (const h of ['0.0.0.0', '::', '10.0.0.1', '128.0.0.1', '192.0.2.1', '::ffff:10.0.0.1', 'example.com', 'localhost.example.com', '', '127.0.0.1.nip.io']) {
    assert.not.ok(isLoopback(h), `${h} is not loopback`);
  }
});

test('a non-loopback address without a token is refused with CHS_ERR_DASHBOARD_TOKEN', () => {
  for (const h of ['0.0.0.0', '::', '192.0.2.1']) {
    try {
      checkListen('dashboard', h, undefined);
      assert.unreachable(`${h} accepted without a token`);
    } catch (err) {
      assert.is((err as { code?: string }).code, 'CHS_ERR_DASHBOARD_TOKEN');
      assert.match((err as Error).message, h);
    }
  }
  checkListen('dashboard', '0.0.0.0', 'a-token-of-sixteen-chars');
  checkListen('dashboard', '127.0.0.1', undefined);
});

const req = (headers: Record<string, string>) => ({ headers }) as unknown as IncomingMessage;

test('the gate: open without a token; with one, the bearer header or the session cookie', () => {
  const open = new Gate(undefined);
  assert.ok(open.admits(req({})));
  const token = 'correct-horse-battery-staple';
  const gate = new Gate(token);
  assert.not.ok(gate.admits(req({})));
  assert.ok(gate.admits(req({ authorization: `Bearer ${token}` })));
  assert.not.ok(gate.admits(req({ authorization: 'Bearer wrong' })));
  assert.not.ok(gate.admits(req({ authorization: `Bearer ${token}x` })));
  const cookie = gate.loginCookie();
  assert.match(cookie, /HttpOnly/);
  assert.match(cookie, /SameSite=Strict/);
  assert.not.match(cookie, token, 'the cookie does not carry the token itself');
  const value = cookie.split(';')[0]!;
  assert.ok(gate.admits(req({ cookie: `other=1; ${value}` })));
  assert.not.ok(gate.admits(req({ cookie: `${value}x` })));
  assert.not.ok(new Gate('another-token-entirely').admits(req({ cookie: value })), 'a cookie of another token does not open');
  assert.ok(gate.accepts(token));
  assert.not.ok(gate.accepts(''));
});

const view = (id: string, requires: InstanceView['requires'] = [], state = 'active'): InstanceView => ({
  id, module: id.split('#')[0]!, version: '1.0.0', hash: null, dir: `/m/${id}`, state, disabled: false, waitingFor: [],
  restarts: 0, reloads: 0, since: null, lastError: null, provides: [], requires, health: null, stalls: 0,
});
const req1 = (service: string, boundTo: string[], policy: 'static' | 'dynamic' = 'static', cardinality: '1' | '0..1' | '0..n' | '1..n' = '1') =>
  ({ service, range: '^1', policy, cardinality, as: service, boundTo });

test('the graph: an edge per binding labelled policy and cardinality; a missing mandatory provider; optional unbound ones left out', () => {
  const g = graphView([
    view('greeter'),
    view('hello', [req1('greeter', ['greeter'], 'dynamic')]),
    view('shout', [req1('greeter', ['greeter'])]),
    view('lonely', [req1('absent', []), req1('maybe', [], 'dynamic', '0..1')], 'waiting'),
    view('many', [req1('greeter', ['greeter'], 'dynamic', '0..n')]),
  ], null);
  assert.equal(g.nodes.map((n) => n.id), ['greeter', 'hello', 'shout', 'lonely', 'many', 'missing:absent@^1']);
  assert.equal(g.edges.map((e) => [e.from, e.to, e.label, e.satisfied]), [
    ['hello', 'greeter', 'dynamic 1', true],
    ['shout', 'greeter', 'static 1', true],
    ['lonely', 'missing:absent@^1', 'static 1', false],
    ['many', 'greeter', 'dynamic 0..n', true],
  ]);
  assert.is(g.nodes.find((n) => n.id === 'missing:absent@^1')!.kind, 'missing');
});

test('a refused cycle: read from the error, drawn with its own nodes and edges', () => {
  const cycle = cycleOf({ code: 'CHS_ERR_DEP_CYCLE', message: 'CHS_ERR_DEP_CYCLE: dependency cycle: a -> b -> a' });
  assert.equal(cycle, ['a', 'b', 'a']);
  assert.is(cycleOf({ code: 'CHS_ERR_MODULE_LOAD', message: 'dependency cycle: a -> b' }), null);
  assert.equal(cycleOf({ code: 'CHS_ERR_DEP_CYCLE', message: 'enabling x would make a dependency cycle: x -> y -> x' }), ['x', 'y', 'x']);
  const g = graphView([view('a')], cycle);
  assert.equal(g.nodes.map((n) => [n.id, n.kind]), [['a', 'instance'], ['b', 'cycle']]);
  assert.equal(g.edges.map((e) => [e.from, e.to, e.cycle]), [['a', 'b', true], ['b', 'a', true]]);
});

test.run();
