// Back pressure: a client that sends requests but does not read the replies makes the server stop
// reading its connection once about WRITE_QUEUE_MAX (1 MiB) is queued, instead of queueing every
// reply in memory; it resumes when the client reads again, and every reply arrives intact.
import { connect } from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { encode, FrameSplitter, L_O_RDONLY, NOFID, decode } from '../codec/index.ts';
import { nullFile, zero } from '../tree/devices.ts';
import { root } from '../tree/synthetic.ts';
import { RawConn, withDeadline } from '../testing/raw.ts';
import { NineServer } from './server.ts';
import { waitFor } from '../../test/helpers/deadline.ts';


test('a client that stops reading pauses its connection; reading again resumes it, nothing lost', async () => {
  const server = new NineServer({ attach: () => root([zero('zero'), nullFile('null')]) });
  const { port } = await server.listen(0, '127.0.0.1');
  const setup = await RawConn.negotiated(port, '9P2000.L', 65536);
  setup.close();
  const sock = connect({ host: '127.0.0.1', port });
  try {
    await new Promise<void>((resolve, reject) => { sock.once('connect', resolve); sock.once('error', reject); });
    sock.pause(); // read nothing for now
    const n = 600; // 600 x 64 KiB replies: far more than socket buffers and the 1 MiB queue hold
    const frames = [
      encode({ type: 'Tversion', tag: 0xffff, msize: 65536, version: '9P2000.L' }),
      encode({ type: 'Tattach', tag: 1, fid: 1, afid: NOFID, uname: 'u', aname: '', nUname: 0 }),
      encode({ type: 'Twalk', tag: 2, fid: 1, newfid: 2, wnames: ['zero'] }),
      encode({ type: 'Tlopen', tag: 3, fid: 2, flags: L_O_RDONLY }),
    ];
    // One at a time: Tattach answers asynchronously, and a Twalk must find its fid bound.
    for (const f of frames) {
      sock.write(f);
      await new Promise((r) => setTimeout(r, 30));
    }
    for (let i = 0; i < n; i++) sock.write(encode({ type: 'Tread', tag: 100 + i, fid: 2, offset: BigInt(i) * 65512n, count: 65512 }));
    await waitFor('the connection to pause', () => server.pausedConnections === 1);
    // Now read everything: the connection resumes and all replies come, in full.
    const splitter = new FrameSplitter(1 << 20);
    const reads = new Set<number>();
    let bytes = 0;
    sock.on('data', (c: Buffer) => {
      for (const f of splitter.push(c)) {
        const m = decode(f, '9P2000.L');
        if (m.type === 'Rread') { reads.add(m.tag); bytes += m.data.length; }
      }
    });
    sock.resume();
    await waitFor(`${n} Rreads`, () => reads.size === n, 20_000);
    assert.is(bytes, n * 65512);
    assert.is(server.pausedConnections, 0);
  } finally {
    sock.destroy();
    await withDeadline(server.close(), 5000, 'server.close()');
  }
});

test.run();
