import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fmtValue } from '../../python/turbotrack/server/static/lib/format.js';

test('a logged list shows as its JSON text, nested lists and dicts included', () => {
  assert.equal(fmtValue([0.1, 0.01]), '[0.1,0.01]');
  assert.equal(fmtValue([1, [2, 3], { k: null }, 'x']), '[1,[2,3],{"k":null},"x"]');
  assert.equal(fmtValue([]), '[]');
});

test('a null shows as nothing, numbers stay short', () => {
  assert.equal(fmtValue(null), '');
  assert.equal(fmtValue(undefined), '');
  assert.equal(fmtValue(0.123456), '0.1235');
  assert.equal(fmtValue({ min: 1 }), '{"min":1}');
});

test('epoch-second fields show as dates, other numbers as numbers', async () => {
  const { fmtField, isEpochField, fmtDateTime } = await import('../../python/turbotrack/server/static/lib/format.js');
  const t = 1796195833.02;
  const d = new Date(t * 1000);
  const p = (n) => String(n).padStart(2, '0');
  const want = `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
  assert.equal(fmtField('_timestamp', t), want);
  assert.equal(fmtField('created_at', t), want);
  assert.equal(fmtField('summary._timestamp', t), want);
  assert.equal(fmtDateTime(t), want);
  assert.ok(!fmtField('_timestamp', t).includes('e+'));
  // a metric of that size that is no time, and a time key holding no time, stay numbers
  assert.equal(fmtField('tokens', t), fmtValue(t));
  assert.equal(fmtField('_timestamp', 12.5), '12.5');
  assert.equal(fmtField('_runtime', t), fmtValue(t));
  assert.equal(isEpochField('my_timestamp_count', t), false);
  assert.equal(fmtField('notes', 'x'), 'x');
});

test('system metrics get their units from their names', async () => {
  const { systemUnit } = await import('../../python/turbotrack/server/static/lib/format.js');
  const unit = (k) => systemUnit(k)?.unit ?? null;
  assert.equal(unit('system.cpu'), '%');
  assert.equal(unit('system.memory'), '%');
  assert.equal(unit('system.disk'), '%');
  assert.equal(unit('system.proc.cpu.percent'), '%');
  assert.equal(unit('system.proc.memory.rssMB'), 'MB');
  assert.equal(unit('system.proc.memory.availableMB'), 'MB');
  assert.equal(unit('system.disk.in'), 'MB');
  assert.equal(unit('system.network.recv'), 'bytes');
  assert.equal(unit('system.gpu.0.gpu'), '%');
  assert.equal(unit('system.gpu.1.memoryAllocated'), '%');
  assert.equal(unit('system.gpu.0.powerPercent'), '%');
  assert.equal(unit('system.gpu.0.temp'), '°C');
  assert.equal(unit('system.gpu.0.powerWatts'), 'W');
  assert.equal(unit('system.gpu.0.enforcedPowerLimitWatts'), 'W');
  assert.equal(unit('system.gpu.0.smClock'), 'MHz');
  assert.equal(unit('system.proc.cpu.threads'), null);
  assert.equal(systemUnit('system.gpu.0.memoryAllocatedBytes').fmt(3.5e9), '3.5 GB');
  assert.equal(systemUnit('system.cpu').fmt(42.5), '42.5%');
  assert.equal(systemUnit('system.gpu.0.temp').fmt(61), '61 °C');
});
