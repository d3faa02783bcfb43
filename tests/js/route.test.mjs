import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isValidName, parseRoute, runHref, workspaceHref } from '../../python/turbotrack/server/static/lib/route.js';

test('pages by pathname', () => {
  assert.deepEqual(parseRoute('/'), { page: 'projects' });
  assert.deepEqual(parseRoute(''), { page: 'projects' });
  assert.deepEqual(parseRoute('/ent/proj'), { page: 'workspace', entity: 'ent', project: 'proj' });
  assert.deepEqual(parseRoute('/ent/proj/'), { page: 'workspace', entity: 'ent', project: 'proj' });
  assert.deepEqual(parseRoute('/e/p/runs/abc'), { page: 'run', entity: 'e', project: 'p', run: 'abc', tab: 'overview' });
  for (const tab of ['system', 'logs', 'files']) assert.equal(parseRoute(`/e/p/runs/abc/${tab}`).tab, tab);
});

test('unknown or unsafe paths are not found', () => {
  for (const p of ['/e', '/e/p/x/abc', '/e/p/runs/abc/nope', '/e/p/runs', '/../p', '/e/%2e%2e', '/e/a%2Fb', '/e/p/runs/a/b/c/d', '/e/%E0%A4%A'])
    assert.equal(parseRoute(p).page, 'notfound', p);
});

test('links round-trip', () => {
  assert.equal(workspaceHref('e', 'p'), '/e/p');
  assert.equal(runHref('e', 'p', 'r'), '/e/p/runs/r');
  assert.equal(runHref('e', 'p', 'r', 'logs'), '/e/p/runs/r/logs');
  assert.deepEqual(parseRoute(runHref('e.x', 'p-1', 'r_2', 'files')), { page: 'run', entity: 'e.x', project: 'p-1', run: 'r_2', tab: 'files' });
});

test('names as wandb accepts them route; what the name rule refuses does not', () => {
  assert.deepEqual(parseRoute('/Jane%20Doe/my%20project/runs/run%201'), {
    page: 'run', entity: 'Jane Doe', project: 'my project', run: 'run 1', tab: 'overview',
  });
  assert.deepEqual(parseRoute(runHref('a b', 'c%d', 'e f')), { page: 'notfound', path: '/a%20b/c%25d/runs/e%20f' });
  assert.equal(parseRoute(runHref('a b', 'cd', 'e%f')).page, 'run');
  assert.equal(isValidName('run id', ' lead'), false);
  assert.equal(isValidName('project', ' lead'), true);
  assert.equal(isValidName('project', 'x'.repeat(129)), false);
  assert.equal(isValidName('run id', 'x'.repeat(129)), true);
});
