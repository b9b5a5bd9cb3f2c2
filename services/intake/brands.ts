import type { E164 } from '../ledger/index.js';
import type { BrandPolicy } from './decide.js';

export interface BrandSettings {
  /** The sender as people know it, printed by {brand} in the replies; without one, neutral wording. */
  readonly displayName?: string;
  /** The brand's own words, on top of the built-in ones. */
  readonly keywords?: {
    readonly optOut?: readonly string[];
    readonly optIn?: readonly string[];
    readonly help?: readonly string[];
  };
  readonly optOutScope?: 'brand' | 'program';
  readonly confirmation?: string;
  readonly optInReply?: string;
  readonly helpReply?: string;
}

export interface NumberRoute {
  readonly brand: string;
  readonly program?: string;
}

export interface BrandDirectory {
  readonly defaultBrand: string;
  readonly brands: Readonly<Record<string, BrandSettings>>;
  /** Our sending numbers (E.164 or short codes) → the brand and program they belong to. */
  readonly numbers: Readonly<Record<string, NumberRoute>>;
}

export const DEFAULT_TEMPLATES = {
  confirmation:
    '{brand}: You are unsubscribed and will receive no more messages. Reply START to resubscribe.',
  optInReply: '{brand}: You are subscribed again. Reply STOP to unsubscribe, HELP for help.',
  helpReply: '{brand}: Reply STOP to unsubscribe. Msg & data rates may apply.',
} as const;

/**
 * For a brand with no display name configured. Its id ("default", "acme-us-2") is an internal name the
 * person never saw: a confirmation signed "default:" names no sender at all. "This number" does.
 */
export const NEUTRAL_TEMPLATES = {
  confirmation:
    'You are unsubscribed and will receive no more messages from this number. Reply START to resubscribe.',
  optInReply:
    'You are subscribed again to messages from this number. Reply STOP to unsubscribe, HELP for help.',
  helpReply: 'Reply STOP to unsubscribe. Msg & data rates may apply.',
} as const;

export function policyFor(directory: BrandDirectory, brand: string): BrandPolicy {
  const settings = directory.brands[brand] ?? {};
  const optOutScope = settings.optOutScope ?? 'brand';
  const displayName = settings.displayName?.trim();
  if (displayName === undefined || displayName === '') {
    // Configuration refuses a {brand} template without a display name; should one get here, the neutral
    // text goes out rather than the brand's internal id.
    const own = (template: string | undefined, neutral: string) =>
      template === undefined || template.includes('{brand}') ? neutral : template;
    return {
      optOutScope,
      confirmation: own(settings.confirmation, NEUTRAL_TEMPLATES.confirmation),
      optInReply: own(settings.optInReply, NEUTRAL_TEMPLATES.optInReply),
      helpReply: own(settings.helpReply, NEUTRAL_TEMPLATES.helpReply),
    };
  }
  return {
    displayName,
    optOutScope,
    confirmation: settings.confirmation ?? DEFAULT_TEMPLATES.confirmation,
    optInReply: settings.optInReply ?? DEFAULT_TEMPLATES.optInReply,
    helpReply: settings.helpReply ?? DEFAULT_TEMPLATES.helpReply,
  };
}

/** The brand a message belongs to: as named, else by the number it was sent to, else the default. */
export function routeInbound(
  directory: BrandDirectory,
  to: string,
  toE164: E164 | undefined,
  named: { brand?: string; program?: string },
): NumberRoute {
  const route =
    (toE164 !== undefined ? directory.numbers[toE164] : undefined) ?? directory.numbers[to.trim()];
  // A named brand wins; when it is the number's own brand, the number still says which program.
  if (named.brand !== undefined && named.brand !== route?.brand) {
    return { brand: named.brand, ...(named.program !== undefined && { program: named.program }) };
  }
  if (route !== undefined) {
    const program = named.program ?? route.program;
    return { brand: route.brand, ...(program !== undefined && { program }) };
  }
  return { brand: directory.defaultBrand, ...(named.program !== undefined && { program: named.program }) };
}
