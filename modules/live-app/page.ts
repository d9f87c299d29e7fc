// The page live-app serves at /: shows which node answered and the ticks pushed over /live.
export const PAGE = `<!doctype html>
<meta charset="utf-8">
<title>Cheshire live app</title>
<style>body{font:15px system-ui,sans-serif;margin:2em}#log{font-family:monospace;white-space:pre}</style>
<h1>Cheshire live app</h1>
<p>Served by <b id="node">?</b>. Pushed over a WebSocket:</p>
<div id="log"></div>
<script>
const log = document.getElementById('log');
const show = (s) => { log.textContent = (s + '\\n' + log.textContent).slice(0, 4000); };
fetch('/api/info').then((r) => r.json()).then((i) => { document.getElementById('node').textContent = i.node; });
function connect() {
  const ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/live');
  ws.onmessage = (e) => show(e.data);
  ws.onclose = () => setTimeout(connect, 1000);
}
connect();
</script>
`;
