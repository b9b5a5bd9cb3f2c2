import { decideReadiness, type ViewFacts } from './readiness.js';

const view = (name: string, fields: Partial<ViewFacts> = {}): ViewFacts => ({
  name,
  unavailable: undefined,
  healthy: true,
  replaying: false,
  ...fields,
});
const down = (name: string): ViewFacts =>
  view(name, { unavailable: `view ${name} is failing to apply the log`, healthy: false });
const ALL = ['intake', 'gate', 'projector'] as const;

describe('readiness says what each role can do, and fails only for what a load balancer should route around', () => {
  it('everything serving: ready', () => {
    expect(decideReadiness({ roles: ALL, intake: undefined, gate: undefined, views: [view('crm')] })).toEqual(
      {
        status: 'ready',
        roles: {
          intake: { ready: true },
          gate: { ready: true },
          projector: { ready: true, views: { crm: { ready: true, healthy: true } } },
        },
      },
    );
  });

  it('a CRM down does not take intake out of rotation: degraded, 200, the view named', () => {
    const readiness = decideReadiness({
      roles: ALL,
      intake: undefined,
      gate: undefined,
      views: [down('crm'), view('warehouse')],
    });
    expect(readiness.status).toBe('degraded');
    expect(readiness.roles.projector?.views.crm).toEqual({
      ready: false,
      reason: 'view crm is failing to apply the log',
      healthy: false,
    });
  });

  it('every system view down, beside intake and the gate: still degraded, not unavailable', () => {
    expect(
      decideReadiness({ roles: ALL, intake: undefined, gate: undefined, views: [down('crm')] }).status,
    ).toBe('degraded');
  });

  it('intake that cannot append: unavailable, whatever else works', () => {
    expect(
      decideReadiness({ roles: ['intake'], intake: 'the disk is full', gate: undefined, views: [] }),
    ).toEqual({
      status: 'unavailable',
      roles: { intake: { ready: false, reason: 'the disk is full' } },
      message: 'intake: the disk is full',
    });
  });

  it('a gate whose central view cannot answer: unavailable', () => {
    const readiness = decideReadiness({
      roles: ['gate'],
      intake: undefined,
      gate: 'the suppression view is still replaying the log',
      views: [],
    });
    expect(readiness).toMatchObject({
      status: 'unavailable',
      message: 'gate: the suppression view is still replaying the log',
    });
  });

  describe('a process that runs only the projector role', () => {
    it('is unavailable while a view is still on its replay at start', () => {
      expect(
        decideReadiness({
          roles: ['projector'],
          intake: undefined,
          gate: undefined,
          views: [view('crm', { replaying: true, unavailable: 'view crm is still replaying the log' })],
        }),
      ).toMatchObject({ status: 'unavailable', message: 'projector: view crm still replaying the log' });
    });

    it('is unavailable when no view can answer', () => {
      expect(
        decideReadiness({ roles: ['projector'], intake: undefined, gate: undefined, views: [down('crm')] }),
      ).toMatchObject({ status: 'unavailable', message: 'projector: no system view can answer checks' });
    });

    it('is degraded, not unavailable, when one view of several is down', () => {
      expect(
        decideReadiness({
          roles: ['projector'],
          intake: undefined,
          gate: undefined,
          views: [down('crm'), view('warehouse')],
        }).status,
      ).toBe('degraded');
    });
  });
});
