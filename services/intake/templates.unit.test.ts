import { DEFAULT_TEMPLATES } from './brands.js';
import { checkConfirmation } from './templates.js';

describe('a confirmation template (47 CFR 64.1200(a)(12): it only confirms)', () => {
  it.each(['Acme', 'Globex Alerts', 'A'.repeat(40)])('the default passes for brand %j', (brand) => {
    expect(checkConfirmation(DEFAULT_TEMPLATES.confirmation, brand)).toEqual([]);
  });

  it('names the sender', () => {
    expect(checkConfirmation('You are unsubscribed and will receive no more messages.', 'Acme')).toEqual([
      'name the sender: include {brand} (or "Acme")',
    ]);
    expect(
      checkConfirmation('Acme: You are unsubscribed and will receive no more messages.', 'Acme'),
    ).toEqual([]);
  });

  it('says the person is unsubscribed and gets no more messages', () => {
    expect(checkConfirmation('{brand}: Got it, thanks!', 'Acme')).toEqual([
      'say that the person is unsubscribed (e.g. "You are unsubscribed")',
      'say that no more messages will be sent (e.g. "and will receive no more messages")',
    ]);
  });

  it('fits one GSM-7 segment, counting the extension characters twice', () => {
    const long = `{brand}: You are unsubscribed and will receive no more messages. ${'Thank you. '.repeat(9)}`;
    expect(checkConfirmation(long, 'Acme')).toEqual([
      expect.stringMatching(/^keep it to 160 GSM-7 characters, one segment \(it is 1\d\d with/),
    ]);
    expect(
      checkConfirmation('{brand}: You are unsubscribed and will receive no more messages 🙂', 'Acme'),
    ).toEqual([expect.stringMatching(/^use GSM-7 characters only \(found "🙂"\)/)]);
  });

  it('carries no link and no marketing', () => {
    expect(
      checkConfirmation(
        '{brand}: You are unsubscribed and will receive no more messages. acme.com/prefs',
        'Acme',
      ),
    ).toEqual(['remove the link: a confirmation carries none']);
    expect(
      checkConfirmation(
        '{brand}: You are unsubscribed and will receive no more messages. Save 20% next time!',
        'Acme',
      ),
    ).toEqual(['remove marketing words ("Save"): a confirmation only confirms']);
  });
});
