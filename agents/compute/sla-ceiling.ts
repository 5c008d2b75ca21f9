import { ConfigError, envValue } from '../../core/errors/index.ts';
import { PARTY } from '../../core/identity/index.ts';
import { SLA_CLASSES, type SlaClass } from './jobs/index.ts';

/**
 * The highest service class each third party may ask for: `parties` by name, `default` for the
 * rest. A class's lateness penalty is what the planner weighs against other tenants' jobs, so a
 * tenant free to mark every job gold takes precedence over everyone's silver; the site decides
 * who is entitled to what. Unset in the compute agent: any class.
 */
export interface SlaCeiling {
  readonly default: SlaClass;
  readonly parties: ReadonlyMap<string, SlaClass>;
}

/** Whether `asked` is above `ceiling` (gold above silver above bronze). */
export function slaAbove(asked: SlaClass, ceiling: SlaClass): boolean {
  return SLA_CLASSES.indexOf(asked) < SLA_CLASSES.indexOf(ceiling);
}

export const SLA_CEILING_ENV = 'CACO_MAX_SLA_CLASS_PER_PARTY';

/**
 * `silver` (every third party at most silver), and/or `<party>=<class>` entries,
 * comma-separated: `silver,alice=gold,bob=bronze`. Without a bare class the parties not named
 * may ask for any. A bad entry names the variable and the entry.
 */
export function parseSlaCeiling(raw: string, name = SLA_CEILING_ENV): SlaCeiling {
  let dflt: SlaClass | undefined;
  const parties = new Map<string, SlaClass>();
  const isClass = (v: string): v is SlaClass => (SLA_CLASSES as readonly string[]).includes(v);
  for (const part of raw.split(',').map((p) => p.trim())) {
    const eq = part.indexOf('=');
    const party = eq < 0 ? undefined : part.slice(0, eq).trim();
    const cls = (eq < 0 ? part : part.slice(eq + 1)).trim();
    if (!isClass(cls)) throw new ConfigError(name, `"${part}": the class must be one of ${SLA_CLASSES.join(', ')} (e.g. silver,alice=gold)`);
    if (party === undefined) {
      if (dflt !== undefined) throw new ConfigError(name, `"${raw}" gives the class for every party twice (${dflt} and ${cls}); name the others as <party>=<class>`);
      dflt = cls;
    } else {
      if (!PARTY.test(party)) throw new ConfigError(name, `"${part}": "${party}" is not a party name`);
      if (parties.has(party)) throw new ConfigError(name, `"${raw}" names party "${party}" twice`);
      parties.set(party, cls);
    }
  }
  return { default: dflt ?? 'gold', parties };
}

/** From the environment: unset gives undefined (any class); set but empty is refused. */
export function slaCeilingFromEnv(env: Readonly<Record<string, string | undefined>> = process.env): SlaCeiling | undefined {
  const raw = envValue(env, SLA_CEILING_ENV);
  return raw === undefined ? undefined : parseSlaCeiling(raw);
}

/** For the start-up notes: what the ceiling allows. */
export function describeSlaCeiling(c: SlaCeiling | undefined): string {
  if (c === undefined) return 'any service class for third parties';
  const named = [...c.parties].map(([p, cls]) => `${p} ${cls}`).join(', ');
  return `third parties at most ${c.default} service class${named ? ` (${named})` : ''}`;
}
