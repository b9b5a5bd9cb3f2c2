import { classifyReply } from '../../services/classifier/index.js';
import { nowMs, quick, round } from '../measure.js';
import type { FigureOutput } from '../results.js';

/**
 * Figure 8: replies classified per second in-process, beside a trivial exact-keyword matcher (the
 * rule Twilio applies: the whole message, trimmed and upper-cased, looked up in a set) in the same loop.
 */
const LONG =
  'Hi, this is Maria. I got your message about the appointment on Thursday but I think you have the wrong person, ' +
  'I never signed up for anything with your company and I do not want these texts anymore. Please remove my number ' +
  'from your list and stop sending me reminders, my phone plan charges me for every message. Thank you.';
const VERY_LONG = `${LONG} ${LONG.replace('Maria', 'my husband')} Also, who gave you this number? I would like to know.`;

export const REPLIES: readonly string[] = [
  'STOP',
  'stop',
  'Stop.',
  'STOP!!!',
  'Unsubscribe',
  'stop please',
  'Please take me off your list',
  'wrong number',
  'who is this?',
  'YES',
  'START',
  'HELP',
  'ok thanks, see you tomorrow',
  'Can you stop by the store at 5?',
  'cancel my order',
  'ＳＴＯＰ',
  'S T O P',
  'no more texts pls',
  'arrêtez de m’envoyer des messages',
  'Pare de mandar mensagem',
  'BAJA',
  LONG,
  VERY_LONG,
];

const KEYWORDS = new Map<string, string>([
  ...['STOP', 'STOPALL', 'UNSUBSCRIBE', 'CANCEL', 'END', 'QUIT', 'REVOKE', 'OPTOUT'].map(
    (k) => [k, 'opt_out'] as const,
  ),
  ...['START', 'YES', 'UNSTOP'].map((k) => [k, 'opt_in'] as const),
  ...['HELP', 'INFO'].map((k) => [k, 'help'] as const),
]);

const exactKeyword = (text: string): string => KEYWORDS.get(text.trim().toUpperCase()) ?? 'none';

function measure(
  classify: (text: string) => string,
  seconds: number,
): { perSecond: number; perCpuSecond: number; optOuts: number } {
  let optOuts = 0;
  for (let i = 0; i < 2000; i++) classify(REPLIES[i % REPLIES.length] ?? '');
  let calls = 0;
  const cpu = process.cpuUsage();
  const started = nowMs();
  while (nowMs() - started < seconds * 1000) {
    for (let r = 0; r < 50; r++) {
      for (const reply of REPLIES) if (classify(reply) === 'opt_out') optOuts++;
    }
    calls += 50 * REPLIES.length;
  }
  const elapsed = nowMs() - started;
  const used = process.cpuUsage(cpu);
  return {
    perSecond: Math.round((calls * 1000) / elapsed),
    perCpuSecond: Math.round((calls * 1e6) / Math.max(1, used.user + used.system)),
    optOuts: round(optOuts / calls, 3),
  };
}

/** Microseconds each reply takes, slowest first, with what it was classified as. */
function perReply(): { reply: string; intent: string; microseconds: number }[] {
  return REPLIES.map((reply) => {
    const intent = classifyReply(reply).intent;
    const started = nowMs();
    for (let i = 0; i < 200; i++) classifyReply(reply);
    return {
      reply: reply.length > 60 ? `${reply.slice(0, 57)}… (${reply.length} chars)` : reply,
      intent,
      microseconds: round(((nowMs() - started) * 1000) / 200, 1),
    };
  }).sort((a, b) => b.microseconds - a.microseconds);
}

export function run(): Promise<FigureOutput> {
  const seconds = quick() ? 0.5 : 1;
  const ours = { perSecond: 0, perCpuSecond: 0, optOuts: 0 };
  const reference = { perSecond: 0, perCpuSecond: 0, optOuts: 0 };
  // Alternating rounds, so that other load on the machine weighs on both alike.
  for (let round = 0; round < 3; round++) {
    const a = measure((text) => classifyReply(text).intent, seconds);
    const b = measure(exactKeyword, seconds);
    ours.perSecond += a.perSecond / 3;
    ours.perCpuSecond += a.perCpuSecond / 3;
    ours.optOuts = a.optOuts;
    reference.perSecond += b.perSecond / 3;
    reference.perCpuSecond += b.perCpuSecond / 3;
    reference.optOuts = b.optOuts;
  }
  return Promise.resolve({
    figures: [
      {
        id: 'classifier',
        name: `classifier, in-process (${REPLIES.length} mixed replies incl. 2 long)`,
        unit: 'replies/s',
        ours: Math.round(ours.perSecond),
        reference: {
          name: 'exact-keyword Set lookup (Twilio rule)',
          value: Math.round(reference.perSecond),
          unit: 'replies/s',
        },
        ratio: Math.round((ours.perSecond / reference.perSecond) * 1000) / 1000,
        detail: {
          summary: `${round(1e6 / ours.perSecond, 2)} µs a reply; opt-outs found ${ours.optOuts * 100}% vs ${reference.optOuts * 100}% by exact keyword`,
          microsecondsPerReply: round(1e6 / ours.perSecond, 2),
          perCpuSecond: Math.round(ours.perCpuSecond),
          referencePerCpuSecond: Math.round(reference.perCpuSecond),
          replies: perReply(),
          optOutShare: ours.optOuts,
          referenceOptOutShare: reference.optOuts,
        },
      },
    ],
  });
}
