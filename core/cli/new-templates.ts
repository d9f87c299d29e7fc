// The files `cheshire new NAME` writes, as strings (not files: tsc and the test runner would
// take template .ts files for the repository's own code and tests). NAME is a validated module
// name, safe inside JSON and JS string literals.

/** Where the generated tsconfig.json points editors: the host's sdk entry and Node's @types. */
export interface TemplatePaths {
  sdkEntry: string;
  typeRoot: string | null;
}

export type TestFlavour = 'uvu' | 'node:test';

export function packageJson(name: string): string {
  const pkg = {
    name,
    version: '0.1.0',
    description: 'An HTTP hello made by `cheshire new`: GET / answers a greeting.',
    type: 'module',
    private: true,
    cheshire: {
      config: {
        schema: {
          type: 'object',
          additionalProperties: false,
          required: ['host', 'port', 'greeting'],
          properties: {
            host: { type: 'string', minLength: 1 },
            port: { type: 'integer', minimum: 0, maximum: 65535 },
            greeting: { type: 'string', minLength: 1 },
          },
        },
        // port 0: any free port, logged at start; give it a fixed one with `cheshire config set`.
        defaults: { host: '127.0.0.1', port: 0, greeting: 'Hello' },
      },
      test: { files: ['test/*.test.ts'] },
    },
  };
  return JSON.stringify(pkg, null, 2) + '\n';
}

export function indexTs(name: string): string {
  return `// ${name}: answers HTTP GET / with a greeting on config.host:config.port (port 0: any free
// port, logged at start). serveHttp hands the listener from version to version, so saving this
// file swaps the code without refusing a request.
import type { AddressInfo } from 'node:net';
import { serveHttp, type Handler, type ModuleContext } from 'cheshire/sdk';

export interface Config {
  host: string;
  port: number;
  greeting: string;
}

/** The request handler, apart from start() so the test can serve it without a host. */
export function handler(config: Config): Handler {
  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== '/') {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('not found\\n');
      return;
    }
    const who = url.searchParams.get('name') ?? 'world';
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
    res.end(\`\${config.greeting}, \${who}!\\n\`);
  };
}

export async function start(ctx: ModuleContext<Config>) {
  const server = await serveHttp(ctx, ctx.config.host, ctx.config.port, handler(ctx.config));
  const url = \`http://\${ctx.config.host}:\${(server.address() as AddressInfo).port}\`;
  ctx.log.info(\`listening on \${url}\`);
  return { url: () => url };
}
`;
}

/**
 * The module's test. uvu where it resolves from the module folder (inside this repository, whose
 * test runner reads uvu's summary); elsewhere node:test, which needs no package installed: a
 * folder outside the repository has no node_modules, and `cheshire test` maps only cheshire/sdk.
 */
export function testTs(name: string, flavour: TestFlavour): string {
  const head = flavour === 'uvu'
    ? `// ${name}'s test (uvu), run by \`cheshire test ${name}\`: serves the module's handler on a free
// port and asks it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';`
    : `// ${name}'s test, run by \`cheshire test ${name}\` (exit 0 = pass). node:test, because it needs no
// package installed wherever this folder lives. Serves the module's handler on a free port.
import { test } from 'node:test';
import assert from 'node:assert/strict';`;
  return `${head}
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { handler, type Config } from '../index.ts';

const config: Config = { host: '127.0.0.1', port: 0, greeting: 'Hello' };

async function get(path: string): Promise<{ status: number; body: string }> {
  const server = http.createServer(handler(config));
  await new Promise<void>((resolve) => server.listen(0, config.host, resolve));
  try {
    const { port } = server.address() as AddressInfo;
    const res = await fetch(\`http://\${config.host}:\${port}\${path}\`, { signal: AbortSignal.timeout(5_000) });
    return { status: res.status, body: await res.text() };
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

test('GET / answers the configured greeting', async () => {
  const r = await get('/?name=Ada');
  assert.equal(r.status, 200);
  assert.equal(r.body, 'Hello, Ada!\\n');
});

test('any other path is 404', async () => {
  assert.equal((await get('/nope')).status, 404);
});
${flavour === 'uvu' ? '\ntest.run();\n' : ''}`;
}

export function readme(name: string): string {
  return `# ${name}

An HTTP hello made by \`cheshire new\`: \`GET /?name=Ada\` answers \`Hello, Ada!\`.

- \`index.ts\` — \`start(ctx)\`; imports only \`cheshire/sdk\` (and Node built-ins).
- \`package.json\` — the descriptor (\`cheshire\` field): config schema and defaults
  (\`host\` 127.0.0.1, \`port\` 0 = any free port, \`greeting\`), the test files.
- \`test/${name}.test.ts\` — run by \`npx cheshire test ${name}\`.
- \`tsconfig.json\` — lets editors resolve \`cheshire/sdk\` to the host's copy.

Saving a file reloads the module on a running node. Give it a fixed port with
\`npx cheshire config set ${name} port=8085\`. The module contract is in the host's docs/modules.md.
`;
}

export function tsconfigJson(paths: TemplatePaths): string {
  const config = {
    compilerOptions: {
      target: 'ES2022',
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      lib: ['ES2023'],
      types: ['node'],
      ...(paths.typeRoot ? { typeRoots: [paths.typeRoot] } : {}),
      strict: true,
      noUnusedLocals: true,
      noUnusedParameters: true,
      noImplicitOverride: true,
      verbatimModuleSyntax: true,
      allowImportingTsExtensions: true,
      noEmit: true,
      skipLibCheck: true,
      isolatedModules: true,
      paths: { 'cheshire/sdk': [paths.sdkEntry] },
    },
    include: ['**/*.ts'],
  };
  return JSON.stringify(config, null, 2) + '\n';
}
