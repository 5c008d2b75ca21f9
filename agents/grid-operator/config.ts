import { DEFAULT_DOMAIN, natsBapUri, natsMarketUri, type FlexIntent, type Participant } from '../../beckn/index.ts';

/** A simulated grid operator's buying rules: every number a default that can be changed. */
export interface GridOperatorConfig {
  /** This BAP: subscriber id and the base URI its callbacks go to. */
  readonly bap: Participant;
  /** The BPP searched (no gateway: one site). */
  readonly bppUri: string;
  readonly domain: string;
  /** Reduction wanted in every half-hour of a stress window, kW. */
  readonly wantKw: number;
  /** Never pay more, £/MWh. */
  readonly maxPriceGbpPerMwh: number;
  /** Spend caps over the windows of one UK settlement day and of the 7 days ending with it. */
  readonly budgetGbpPerDay: number;
  readonly budgetGbpPerWeek: number;
  /** A stress window starting sooner than this is not chased. */
  readonly minLeadMin: number;
  /**
   * The site's plan reaches only so far ahead and its flexibility changes as jobs arrive, so
   * a stress window not yet covered is searched again this often, until `minLeadMin` before it.
   */
  readonly researchEveryMin: number;
  /** Where the flexibility must be. */
  readonly location: NonNullable<FlexIntent['location']>;
  readonly billing: { readonly name: string; readonly email: string };
  /**
   * Re-judging a bought window from each new forecast: the window's forecast peak over the
   * peak announced. Below `cancelBelow` the stress has passed (cancel); below `updateBelow`
   * it has eased (reduce the order to `easedShare` of its kW).
   */
  readonly cancelBelow: number;
  readonly updateBelow: number;
  readonly easedShare: number;
  readonly requestTimeoutMs: number;
}

export const SIM_BAP: Participant = { id: 'grid-operator.caco.local', uri: 'http://grid-operator.caco.local/beckn' };

export function gridOperatorConfig(overrides: Partial<GridOperatorConfig> = {}): GridOperatorConfig {
  return {
    bap: SIM_BAP,
    bppUri: 'http://bpp.caco.local/beckn',
    domain: DEFAULT_DOMAIN,
    wantKw: 1000,
    maxPriceGbpPerMwh: 250,
    budgetGbpPerDay: 2000,
    budgetGbpPerWeek: 10_000,
    minLeadMin: 45,
    researchEveryMin: 60,
    location: { cityCode: 'std:020', countryCode: 'GBR', gspGroup: '_C', dno: 'UKPN' },
    billing: { name: 'Simulated Grid Operator (UKPN flexibility desk)', email: 'flex@grid-operator.caco.local' },
    cancelBelow: 0.8,
    updateBelow: 0.9,
    easedShare: 0.5,
    requestTimeoutMs: 10_000,
    ...overrides,
  };
}

/**
 * The addresses of a BAP that buys over the NATS binding (docs/beckn.md "Beckn over NATS"):
 * its callbacks under `beckn.<domain>.bap.<bap id>`, its search to the market (`beckn.<domain>.search`),
 * the rest to the BPP that answered (its `bpp_uri`, `nats:beckn.<domain>.bpp.<bpp id>`).
 * Pass with a NATS transport; the key directory must hold this `bap.uri` as the key's `url`.
 */
export function natsAddresses(domain: string = DEFAULT_DOMAIN, bapId: string = SIM_BAP.id): Pick<GridOperatorConfig, 'bap' | 'bppUri' | 'domain'> {
  return { bap: { id: bapId, uri: natsBapUri(domain, bapId) }, bppUri: natsMarketUri(domain), domain };
}
