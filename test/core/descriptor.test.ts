// Descriptors are read without running module code: discovery and `cheshire ls --all` never
// evaluate a module, and a malformed descriptor is reported with the file and the problem.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { discoverModules } from '../../core/discover.ts';
import { readDescriptor } from '../../core/descriptor.ts';
import { makeProject } from '../helpers/project.ts';

const run = promisify(execFile);
const CLI = join(import.meta.dirname, '../../core/cli/main.ts');

// A module whose top level leaves a marker file if it is ever evaluated.
const tripwire = (marker: string) => `
import { writeFileSync } from 'node:fs';
writeFileSync(${JSON.stringify(marker)}, 'evaluated');
export function start() { return {}; }
`;

test('discovery and `cheshire ls --all` list descriptors without executing module code', async () => {
  const p = await makeProject({ modules: {}, role: [] });
  try {
    const marker = join(p.dir, 'EVALUATED');
    await p.writeModule('trip', {
      version: '2.3.4',
      cheshire: {
        provides: ['trap'],
        requires: [{ service: 'greeter', range: '^1', policy: 'dynamic', cardinality: '0..1' }],
        config: { schema: { type: 'object' }, defaults: { port: 1 } },
        test: { files: ['test/*.test.ts'], beforeActivate: true },
      },
      index: tripwire(marker),
    });
    const found = discoverModules(['modules'], p.dir);
    assert.is(found.modules.length, 1);
    const d = found.modules[0]!;
    assert.is(d.name, 'trip');
    assert.is(d.version, '2.3.4');
    assert.equal(d.provides, ['trap']);
    assert.equal(d.requires, [{ service: 'greeter', range: '^1', policy: 'dynamic', cardinality: '0..1', as: 'greeter' }]);
    assert.equal(d.configDefaults, { port: 1 });
    assert.equal(d.test, { files: ['test/*.test.ts'], beforeActivate: true });
    const { stdout } = await run(process.execPath, ['--import', 'tsx', CLI, 'ls', '--all', '--config', p.configFile], { cwd: join(import.meta.dirname, '../..') });
    assert.match(stdout, /trip@2\.3\.4/);
    assert.match(stdout, /requires: greeter@\^1 dynamic 0\.\.1/);
    const json = await run(process.execPath, ['--import', 'tsx', CLI, 'ls', '--all', '--json', '--config', p.configFile], { cwd: join(import.meta.dirname, '../..') });
    assert.is(JSON.parse(json.stdout).modules[0].name, 'trip');
    assert.not.ok(existsSync(marker), 'no module code ran');
  } finally {
    await p.cleanup();
  }
});

test('a malformed descriptor names the file and what is wrong; others are still listed', async () => {
  const p = await makeProject({ modules: { good: { index: 'export function start() {}' } }, role: [] });
  try {
    await p.writeModule('bad', { cheshire: { requires: [{ service: 'x', policy: 'sometimes' }] }, index: '' });
    const found = discoverModules(['modules'], p.dir);
    assert.equal(found.modules.map((m) => m.name), ['good']);
    assert.is(found.invalid.length, 1);
    const msg = found.invalid[0]!.error.message;
    assert.match(msg, /^CHS_ERR_DESCRIPTOR_INVALID: .*modules\/bad\/package\.json: "cheshire" \/requires\/0\/policy must be one of \["static","dynamic"\]/);
    await p.write('modules/bad/package.json', JSON.stringify({ name: 'bad', version: 'one', cheshire: {} }));
    assert.throws(() => readDescriptor(join(p.dir, 'modules/bad')), /"version" must be a semver version, got "one"/);
    await p.write('modules/bad/package.json', JSON.stringify({ name: 'bad', version: '1.0.0', cheshire: { requires: [{ service: 'x', range: 'not a range!' }] } }));
    assert.throws(() => readDescriptor(join(p.dir, 'modules/bad')), /requires x: "not a range!" is not a semver range/);
  } finally {
    await p.cleanup();
  }
});

test('the repository\'s own modules all have valid descriptors', () => {
  const found = discoverModules(['modules'], join(import.meta.dirname, '../..'));
  assert.equal(found.invalid.map((i) => i.error.message), []);
  for (const name of ['hello', 'greeter', 'shout']) assert.ok(found.modules.some((m) => m.name === name), name);
});

test.run();
