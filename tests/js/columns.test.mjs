import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runRow, dataColumns, columnLabel, resolveColumn, chartKeys, groupByPrefix, flatten } from '../../python/turbotrack/server/static/lib/columns.js';

const run = {
  id: 'abc', name: 'bright-sun', state: 'running', created: 1700000000, runtime: 12, tags: ['x'], group: 'g',
  config: { lr: 0.01, opt: { name: 'adam', betas: [0.9, 0.99] }, wd: { value: 0.1, desc: 'weight decay' } },
  summary: {
    acc: { max: 0.9, last: 0.8 }, loss: 0.1, 'train/loss': 0.2, _step: 9, _runtime: 3,
    img: { _type: 'image-file', path: 'media/images/a.png' },
  },
};

test('a summary dict becomes one column per word', () => {
  const row = runRow(run);
  assert.equal(row['summary.acc.max'], 0.9);
  assert.equal(row['summary.acc.last'], 0.8);
  assert.equal(row['summary.loss'], 0.1);
  assert.equal(row['summary.train/loss'], 0.2);
  assert.ok(!('summary._step' in row), 'underscore keys are not columns');
  assert.ok(!Object.keys(row).some((k) => k.startsWith('summary.img')), 'media are not columns');
});

test('config nests into dotted columns; arrays stay values; wandb value/desc unwraps', () => {
  const row = runRow(run);
  assert.equal(row['config.lr'], 0.01);
  assert.equal(row['config.opt.name'], 'adam');
  assert.deepEqual(row['config.opt.betas'], [0.9, 0.99]);
  assert.equal(row['config.wd'], 0.1);
});

test('columns list config first, then summary; labels drop the summary prefix', () => {
  const cols = dataColumns([runRow(run)]);
  assert.deepEqual(cols, ['config.lr', 'config.opt.betas', 'config.opt.name', 'config.wd',
    'summary.acc.last', 'summary.acc.max', 'summary.loss', 'summary.train/loss']);
  assert.equal(columnLabel('summary.acc.max'), 'acc.max');
  assert.equal(columnLabel('config.lr'), 'config.lr');
});

test('a user name resolves to summary, then config', () => {
  const known = new Set(dataColumns([runRow(run)]));
  assert.equal(resolveColumn('acc.max', known), 'summary.acc.max');
  assert.equal(resolveColumn('lr', known), 'config.lr');
  assert.equal(resolveColumn('config.lr', known), 'config.lr');
  assert.equal(resolveColumn('state', known), 'state');
});

test('chart keys come from numeric summaries; groups by prefix', () => {
  assert.deepEqual(chartKeys([run]), ['acc', 'loss', 'train/loss']);
  assert.deepEqual(groupByPrefix(['val/a', 'loss', 'train/b', 'train/a']), [['', ['loss']], ['train', ['train/b', 'train/a']], ['val', ['val/a']]]);
});

test('flatten ignores non-objects', () => {
  assert.deepEqual(flatten(null, 'x'), {});
});

test('step metrics from the run detail', async () => {
  const { stepMetrics } = await import('../../python/turbotrack/server/static/lib/columns.js');
  assert.deepEqual(stepMetrics([{ name: 'val/loss', step_metric: 'epoch' }, { name: 'a', step_metric: '_step' }, ['acc', 'max', null]]), ['epoch']);
  assert.deepEqual(stepMetrics({ 'val/*': { step_metric: 'epoch' }, x: {} }), ['epoch']);
  assert.deepEqual(stepMetrics(null), []);
  // metrics.json as written by define_metric: [name, summary, objective, step_metric].
  assert.deepEqual(stepMetrics([['val/*', null, null, 'epoch'], ['lr', 'last', null, null], ['b', null, null, 'batch']]), ['batch', 'epoch']);
});

test('hidden metrics: a fifth entry true hides a name or a glob; old entries of four or three do not', async () => {
  const { hiddenMetrics, isHiddenKey } = await import('../../python/turbotrack/server/static/lib/columns.js');
  const defs = [['secret', null, null, null, true], ['train/*', 'min', 'minimize', null, true], ['acc', 'max', null, null, false],
    ['loss', 'last', null, null], ['old', 'min', null], ['odd', null, null, null, 'yes']];
  assert.deepEqual(hiddenMetrics(defs), ['secret', 'train/*']);
  assert.deepEqual(hiddenMetrics({ x: { hidden: true }, y: {} }), ['x']);
  assert.deepEqual(hiddenMetrics(null), []);
  const hidden = hiddenMetrics(defs);
  assert.ok(isHiddenKey('secret', hidden) && isHiddenKey('train/loss', hidden));
  assert.ok(!isHiddenKey('secret2', hidden) && !isHiddenKey('val/loss', hidden) && !isHiddenKey('acc', hidden));
  assert.ok(isHiddenKey('anything', ['*']));
});

test('chart keys skip the hidden metrics', () => {
  const runs = [{ summary: { secret: 1, 'train/loss': 0.5, 'train/acc': 0.9, acc: { max: 0.9 }, loss: 0.1 } }];
  assert.deepEqual(chartKeys(runs), ['acc', 'loss', 'secret', 'train/acc', 'train/loss']);
  assert.deepEqual(chartKeys(runs, ['secret', 'train/*']), ['acc', 'loss']);
});
