/**
 * The one confirmation the law allows after an opt-out (47 CFR 64.1200(a)(12)) only confirms: it names
 * the sender, says the person is unsubscribed and gets no more messages, fits one GSM-7 segment, and
 * carries no link and no marketing. A brand's template is checked when configuration loads.
 */
const GSM7_BASIC =
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà';
const GSM7_EXTENSION = '^{}\\[~]|€\f';
const SEGMENT = 160;
const SAYS_UNSUBSCRIBED = /\b(unsubscribed|opted out|removed|will be removed|no longer subscribed)\b/i;
const SAYS_NO_MORE =
  /\b(no more|no further|not receive any more|won'?t receive|will not receive|not get any more)\b/i;
const LINK = /https?:\/\/|www\.|\b[a-z0-9-]+\.(com|net|org|io|co|ly|us|biz|info|app|link)\b/i;
const MARKETING =
  /\b(sale|discount|offer|deals?|free|promo|promotion|coupon|buy|shop|save|savings|win|winner|exclusive|limited time|special|bonus|% off|off your)\b/i;

/** Problems with a confirmation template, each saying what to fix; none when it may be sent. */
export function checkConfirmation(template: string, brandName: string): string[] {
  const problems: string[] = [];
  if (!template.includes('{brand}') && !template.includes(brandName)) {
    problems.push(`name the sender: include {brand} (or "${brandName}")`);
  }
  const text = template.replaceAll('{brand}', brandName);
  if (!SAYS_UNSUBSCRIBED.test(text))
    problems.push('say that the person is unsubscribed (e.g. "You are unsubscribed")');
  if (!SAYS_NO_MORE.test(text))
    problems.push('say that no more messages will be sent (e.g. "and will receive no more messages")');
  const outside = [
    ...new Set([...text].filter((c) => !GSM7_BASIC.includes(c) && !GSM7_EXTENSION.includes(c))),
  ];
  if (outside.length > 0) {
    problems.push(
      `use GSM-7 characters only (found ${outside.map((c) => JSON.stringify(c)).join(' ')}): others make it a longer UCS-2 message`,
    );
  }
  const length = [...text].reduce((sum, c) => sum + (GSM7_EXTENSION.includes(c) ? 2 : 1), 0);
  if (length > SEGMENT)
    problems.push(
      `keep it to ${SEGMENT} GSM-7 characters, one segment (it is ${length} with the brand name)`,
    );
  if (LINK.test(text)) problems.push('remove the link: a confirmation carries none');
  const marketing = MARKETING.exec(text);
  if (marketing !== null)
    problems.push(`remove marketing words ("${marketing[0]}"): a confirmation only confirms`);
  return problems;
}
