/**
 * What a handset, a mail client or the habit of signing adds after the words a person typed: "Sent
 * from my iPhone", "Get Outlook for iOS", a "-- " signature block, a link, an address, "- Mike",
 * "Thanks, Sarah", "this is Mike". A reply is read without them, so that "Stop\n\nSent from my iPhone"
 * is the STOP it is; the classifier also reads the whole reply, so a tail taken away can add an opt-out
 * but never hide one.
 */

/** "Sent from my iPhone", "Sent from Yahoo Mail on Android", "Envoyé de mon iPhone": to the line's end. */
const DEVICE =
  /(?:^|[ \t]+)(?:sent (?:from|via|with|using)|get outlook for|envoy[ée] (?:de|depuis|avec) (?:mon|ma)|enviado (?:desde|de|do|con|com) (?:mi|meu|o|my))(?:[ \t]+[\w&'’.()/+-]+){1,8}[ \t]*$/gimu;
/** A signature block: a line of dashes or underscores ("-- " by the mail convention), and all after it. */
const BLOCK = /(?:^|\n)[ \t]*(?:--|__+|—)[ \t]*(?:\r?\n[\s\S]*)?$/u;
const TOKEN = /\S+/gu;
const HOST = /^[\w-]+(?:\.[\w-]+)*$/u;
const TLD = /^[a-z]{2,}$/iu;
/** A name as it is signed: "Mike", "Jane Doe", "Tom B.", with a capital (the pattern is case-sensitive). */
const NAME = String.raw`\p{Lu}\p{Ll}+(?:[ \t]+\p{Lu}(?:\p{Ll}+|\.))?`;
/** Words that may open with a capital or not: "Thanks" and "thanks", "This is" and "this is". */
const either = (words: string): string => words.replace(/\b[a-z]/g, (c) => `[${c.toUpperCase()}${c}]`);
const SIGN_OFF_WORDS = either(
  'thanks|thank you|thx|regards|best|cheers|sincerely|respectfully|cordially|love|xoxo|yours',
);
/** "… - Mike", "~Jen", "Thanks, Sarah", "Regards,\nTom Baker", "this is Mike": a sign-off ending the reply. */
const SIGN_OFF = new RegExp(
  String.raw`(?:(?:^|\s)(?:[-~\u2013\u2014]+|${either("this is|it[’']?s|it is")})|(?<=\b(?:${SIGN_OFF_WORDS})[,.!]?))\s*${NAME}[.!]*\s*$`,
  'u',
);
/** A line that is nothing but a sign-off word, left after the name has gone. */
const SIGN_OFF_LINE =
  /\n[ \t]*(?:regards|best regards|kind regards|best|cheers|sincerely|respectfully|cordially|love|xoxo|yours truly|yours)[,.!]?\s*$/iu;

/** How far from the end a sign-off is looked for: a name and a few words, never the whole reply. */
const END = 60;
const SIGNED = /\p{Lu}[\p{Ll}.]+[.!]*\s*$/u;
const DEVICE_HINT = /\b(?:sent|outlook|envoy|enviad)/i;

/**
 * The reply without its tail (the reply itself when it has none, or when nothing else would be left).
 * Cheap checks first: most replies have no line break, link, address or signature, and are returned
 * after a few scans for a character.
 */
export function withoutTail(text: string): string {
  let body = text;
  if (body.includes('--') || body.includes('__') || body.includes('\u2014')) body = body.replace(BLOCK, '');
  if (body.includes('/') || body.includes('www.') || body.includes('@'))
    body = body.replace(TOKEN, (token) => (isLink(token) ? ' ' : token));
  // A device line ends a line: without a line break, only the end of the reply can hold one.
  const lines = body.includes('\n') || body.includes('\r');
  if (DEVICE_HINT.test(lines || body.length <= END ? body : body.slice(-END)))
    body = body.replace(DEVICE, '');
  for (let i = 0; i < 2; i++) {
    const end = body.length > END ? body.slice(-END) : body;
    const lineLeft = end.includes('\n') && SIGN_OFF_LINE.test(end);
    if (!lineLeft && !endsWithName(end)) break;
    const head = body.slice(0, body.length - end.length);
    const cut = trimEnd(trimEnd(end).replace(SIGN_OFF, '')).replace(SIGN_OFF_LINE, '');
    if (cut === end) break;
    body = trimEnd(head + cut);
  }
  if (body === text) return text;
  body = trimEnd(body);
  return /[\p{L}\p{N}]/u.test(body) ? body : text;
}

function trimEnd(text: string): string {
  return text.replace(/[ \t\r\n\u2028\u2029]+$/u, '');
}

/**
 * Whether the last word has a capital and lower case after it ("Mike", "Tom B."), as a signed name
 * has. Read backwards from the end in ASCII; other letters are left to a pattern over the last word.
 */
function endsWithName(text: string): boolean {
  let i = text.length - 1;
  while (i >= 0 && ' \t\r\n.!'.includes(text.charAt(i))) i--;
  let lower = 0;
  for (; i >= 0; i--) {
    const c = text.charCodeAt(i);
    if (c > 127) return SIGNED.test(text.slice(Math.max(0, i - 24)));
    if (c >= 97 && c <= 122) lower++;
    else break;
  }
  const c = text.charCodeAt(i);
  return lower > 0 && c >= 65 && c <= 90;
}

/**
 * A link ("http://x.co", "www.example.com", "bit.ly/3xYz") or an address ("jane@example.com"), one
 * word at a time and without a pattern that backtracks: a reply of any length is read in linear time.
 */
function isLink(token: string): boolean {
  if (token.includes('://') || token.toLowerCase().startsWith('www.')) return true;
  const at = token.indexOf('@');
  if (at > 0) return isHost(token.slice(at + 1).replace(/[.,;:!?)]+$/u, ''));
  const slash = token.indexOf('/');
  return slash > 0 && isHost(token.slice(0, slash));
}

/** "example.com", "x.co", "mail.acme-deals.com": dotted names ending in letters. */
function isHost(host: string): boolean {
  const dot = host.lastIndexOf('.');
  return dot > 0 && TLD.test(host.slice(dot + 1)) && HOST.test(host);
}
