import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const KAFKA_DIR = join(process.cwd(), 'infra', 'kafka');
const SAMPLES = 400;

/**
 * kafka-up.sh formats every node with a fresh cluster id. One in 64 random ids began with "-", which the
 * storage tool reads as an option ("--cluster-id/-t: expected one argument"): a flaky start of every
 * Kafka test run. Kafka's own generator never emits a leading dash (nor the all-zero id). 400 draws of
 * the old generator hold a bad one with probability 1 - (63/64)^400 > 0.998.
 */
describe('the cluster id kafka-up.sh formats the nodes with', () => {
  it(`is a 22-character URL-safe base64 id that never begins with "-", over ${SAMPLES} draws`, () => {
    const script = `source "${KAFKA_DIR}/lib.sh"; for _ in $(seq ${SAMPLES}); do new_cluster_id; echo; done`;
    const ids = execFileSync('bash', ['-c', script], { encoding: 'utf8' }).trim().split('\n');
    expect(ids).toHaveLength(SAMPLES);
    const invalid = ids.filter(
      (id) => !/^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/.test(id) || /^A{21}[AQgw]$/.test(id),
    );
    expect(invalid).toEqual([]);
    expect(new Set(ids).size).toBe(SAMPLES);
  });

  it('is the id kafka-up.sh uses', () => {
    expect(readFileSync(join(KAFKA_DIR, 'kafka-up.sh'), 'utf8')).toMatch(/cluster_id="\$\(new_cluster_id\)"/);
  });
});
