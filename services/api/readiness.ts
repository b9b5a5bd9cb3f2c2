import type { Ledger } from '../runtime/index.js';
import type { Role } from './app.js';

export interface RoleReadiness {
  readonly ready: boolean;
  /** Why not, when not ready. */
  readonly reason?: string;
}

export interface ViewReadiness extends RoleReadiness {
  /** False while the view fails to reach its store or apply the log (GET /v1/views has the error). */
  readonly healthy: boolean;
}

export interface Readiness {
  /**
   * `ready`: everything this process runs can serve. `degraded`: its core roles can, some system view
   * cannot (its checks answer unknown). `unavailable` (HTTP 503): a core role cannot.
   */
  readonly status: 'ready' | 'degraded' | 'unavailable';
  readonly roles: {
    readonly intake?: RoleReadiness;
    readonly gate?: RoleReadiness;
    readonly projector?: RoleReadiness & { readonly views: Readonly<Record<string, ViewReadiness>> };
  };
  /** The reasons of the roles that fail readiness, in one sentence (503 only). */
  readonly message?: string;
}

/** What is known of one system view at the moment of asking. */
export interface ViewFacts {
  readonly name: string;
  /** Why checks through it answer unknown now, or undefined when they are answered. */
  readonly unavailable: string | undefined;
  readonly healthy: boolean;
  /** Still on the replay of the log it found at start (and not failing): a start not yet done. */
  readonly replaying: boolean;
}

export interface ReadinessFacts {
  readonly roles: readonly Role[];
  /** Why intake cannot append, when it cannot. */
  readonly intake: string | undefined;
  /** Why the central view cannot answer checks, when it cannot. */
  readonly gate: string | undefined;
  readonly views: readonly ViewFacts[];
}

/**
 * Readiness says what each role of this process can do, and fails (503) only for what a load balancer
 * should route around: intake that cannot append, a gate whose central view cannot answer. A system
 * view's outage (a CRM down, Redis unreachable) is shown but does not fail a process that also runs
 * intake or the gate: taking intake out of rotation because a CRM is down would refuse STOP replies,
 * and checks through that view fail closed anyway. A process that runs only the projector role is
 * unavailable while its views are still replaying at start, or when none of them can answer a check;
 * one view down among several keeps it in rotation, because every replica shares that view's store
 * and routing elsewhere would not help, while the other views' checks still need a process.
 */
export function decideReadiness(facts: ReadinessFacts): Readiness {
  const serves = (role: Role) => facts.roles.includes(role);
  const role = (reason: string | undefined): RoleReadiness =>
    reason === undefined ? { ready: true } : { ready: false, reason };
  const views = Object.fromEntries(
    facts.views.map((v): [string, ViewReadiness] => [v.name, { ...role(v.unavailable), healthy: v.healthy }]),
  );
  const starting = facts.views.filter((v) => v.replaying).map((v) => v.name);
  const answering = facts.views.filter((v) => v.unavailable === undefined);
  const projectorReason =
    starting.length > 0
      ? `view${starting.length > 1 ? 's' : ''} ${starting.join(', ')} still replaying the log`
      : facts.views.length > 0 && answering.length === 0
        ? 'no system view can answer checks'
        : undefined;
  const roles = {
    ...(serves('intake') && { intake: role(facts.intake) }),
    ...(serves('gate') && { gate: role(facts.gate) }),
    ...(serves('projector') && { projector: { ...role(projectorReason), views } }),
  };
  const projectorOnly = !serves('intake') && !serves('gate');
  const failing = [
    roles.intake?.reason === undefined ? undefined : `intake: ${roles.intake.reason}`,
    roles.gate?.reason === undefined ? undefined : `gate: ${roles.gate.reason}`,
    projectorOnly && roles.projector?.reason !== undefined
      ? `projector: ${roles.projector.reason}`
      : undefined,
  ].filter((r): r is string => r !== undefined);
  if (failing.length > 0) return { status: 'unavailable', roles, message: failing.join('; ') };
  const whole = answering.length === facts.views.length || !serves('projector');
  return { status: whole ? 'ready' : 'degraded', roles };
}

/** The facts for `decideReadiness`, as this process knows them now: no store is called. */
export async function readinessOf(ledger: Ledger, roles: readonly Role[]): Promise<Readiness> {
  const central = roles.includes('intake') || roles.includes('gate');
  return decideReadiness({
    roles,
    intake: roles.includes('intake') ? await ledger.intakeUnavailableReason() : undefined,
    gate: central ? ledger.gate.unavailableReason() : undefined,
    views: roles.includes('projector')
      ? ledger.systems.map((s) => ({
          name: s.view.name,
          unavailable: s.gate.unavailableReason(),
          healthy: s.runner.healthy,
          replaying: !s.runner.ready && s.runner.healthy,
        }))
      : [],
  });
}
