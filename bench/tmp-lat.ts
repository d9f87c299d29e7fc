import { Client } from '../fs/client/client.ts';
const [port, files, passes, gap] = process.argv.slice(2).map(Number);
const c = await Client.connect({ port: port! }); const root = (await c.attach({})).fid;
for (let p = 0; p < passes!; p++) {
  const lat: Record<string, number[]> = { walk: [], getattr: [], clunk: [] };
  let next = 0; let fid = 1000;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: 16 }, async () => {
    while (next < files!) {
      const i = next++; const f = fid++;
      let t = performance.now();
      await c.rpc({ type: 'Twalk', fid: root, newfid: f, wnames: ['small', `f${i}`] });
      lat.walk!.push(performance.now() - t); t = performance.now();
      await c.rpc({ type: 'Tgetattr', fid: f, requestMask: 0x7ffn });
      lat.getattr!.push(performance.now() - t); t = performance.now();
      await c.rpc({ type: 'Tclunk', fid: f });
      lat.clunk!.push(performance.now() - t);
    }
  }));
  const ms = performance.now() - t0;
  const med = (a: number[]) => { a.sort((x, y) => x - y); return `${a[a.length >> 1]!.toFixed(3)}/${a[Math.floor(a.length * 0.9)]!.toFixed(3)}`; };
  console.log(`pass ${p} ${ms.toFixed(1)} ms  walk ${med(lat.walk!)}  getattr ${med(lat.getattr!)}  clunk ${med(lat.clunk!)} (median/p90 ms)`);
  await new Promise((r) => setTimeout(r, gap!));
}
await c.close();
