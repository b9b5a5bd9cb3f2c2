import type { ProjectorStatus } from '../projector/index.js';
import { createMetrics } from './metrics.js';

const status = (name: string, kind: string, position: number[]): ProjectorStatus => ({
  name,
  kind,
  position: position as never,
  head: position as never,
  lagEvents: 0,
  lagMs: 0,
  stalenessMs: 0,
  ready: true,
  healthy: true,
});

describe('the view gauges', () => {
  it('export ledger_view_position per view and per partition, as documented', async () => {
    const metrics = createMetrics(() => [
      status('memory', 'memory', [7]),
      status('crm-redis', 'redis', [3, 0, 12]),
    ]);
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/^# TYPE ledger_view_position gauge$/m);
    expect(text).toContain('ledger_view_position{view="memory",kind="memory",partition="0"} 7');
    expect(text).toContain('ledger_view_position{view="crm-redis",kind="redis",partition="0"} 3');
    expect(text).toContain('ledger_view_position{view="crm-redis",kind="redis",partition="1"} 0');
    expect(text).toContain('ledger_view_position{view="crm-redis",kind="redis",partition="2"} 12');
  });

  it('drop the series of a view that is gone (a rebuilt view is not reported twice)', async () => {
    let views = [status('a', 'redis', [1]), status('b', 'redis', [2])];
    const metrics = createMetrics(() => views);
    await metrics.registry.metrics();
    views = [status('b', 'redis', [5])];
    const text = await metrics.registry.metrics();
    expect(text).not.toContain('ledger_view_position{view="a"');
    expect(text).toContain('ledger_view_position{view="b",kind="redis",partition="0"} 5');
  });
});

describe('the view counters', () => {
  it('count the checks through a system view whose store could not be read, per view', async () => {
    const metrics = createMetrics(() => []);
    metrics.viewReadError('crm-redis');
    metrics.viewReadError('crm-redis');
    metrics.viewReadError('warehouse');
    const text = await metrics.registry.metrics();
    expect(text).toContain('ledger_view_read_errors_total{view="crm-redis"} 2');
    expect(text).toContain('ledger_view_read_errors_total{view="warehouse"} 1');
  });
});
