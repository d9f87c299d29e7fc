// The HTML the dashboard serves: the page shell (the bundle does the rest) and the login form.
// Both are static text: nothing from a request is ever written into them.
import type { ClientBundle } from './bundle.ts';

/** Security headers of every HTML answer: same-origin code, styles and connections only, never framed. */
export const HTML_HEADERS = {
  'content-security-policy': "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'same-origin',
  'x-frame-options': 'DENY',
};

export const FAVICON = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><circle cx="8" cy="8" r="7" fill="#6d4aff"/><circle cx="5.5" cy="7" r="1.3" fill="#fff"/><circle cx="10.5" cy="7" r="1.3" fill="#fff"/><path d="M4.5 10.2q3.5 2.6 7 0" stroke="#fff" fill="none" stroke-width="1.2"/></svg>';

export function pageHtml(bundle: ClientBundle): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Cheshire dashboard</title>
<link rel="icon" href="/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/app.${bundle.hash}.css">
<script type="module" src="/app.${bundle.hash}.js"></script>
</head>
<body>
<div id="app" data-client="${bundle.hash}"><p class="boot">Connecting to the node…</p></div>
</body>
</html>
`;
}

export function loginHtml(failed: boolean): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Cheshire dashboard: sign in</title>
<link rel="icon" href="/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/login.css">
</head>
<body class="login">
<form method="post" action="/login" class="login-box">
<h1>Cheshire dashboard</h1>
<p>This dashboard needs its access token (the <code>token</code> in its config).</p>
${failed ? '<p class="login-error" role="alert">That is not the token.</p>' : ''}
<label>Token <input type="password" name="token" autocomplete="current-password" autofocus required></label>
<button type="submit">Sign in</button>
</form>
</body>
</html>
`;
}

export const LOGIN_CSS = `
body.login { font: 15px/1.5 system-ui, sans-serif; background: #f4f5f8; color: #1d2230; display: grid; place-items: center; min-height: 100vh; margin: 0; }
.login-box { background: #fff; padding: 28px 32px; border-radius: 10px; box-shadow: 0 2px 12px rgba(0,0,0,.08); width: 340px; }
.login-box h1 { font-size: 20px; margin: 0 0 8px; }
.login-box label { display: block; margin: 16px 0; }
.login-box input { display: block; width: 100%; box-sizing: border-box; padding: 8px; margin-top: 4px; border: 1px solid #c9cdd8; border-radius: 6px; font: inherit; }
.login-box button { padding: 8px 16px; border: 0; border-radius: 6px; background: #6d4aff; color: #fff; font: inherit; cursor: pointer; }
.login-error { color: #b3261e; }
`;
