import { loadConfig } from './config.js';

describe('the Twilio webhook settings', () => {
  it('are unset by default', () => {
    const config = loadConfig({});
    expect(config.twilioAuthToken).toBeUndefined();
    expect(config.publicUrl).toBeUndefined();
  });

  it('read the auth token and the public base URL, without a trailing slash', () => {
    const config = loadConfig({
      TWILIO_AUTH_TOKEN: ' 12345678901234567890123456789012\n',
      LEDGER_PUBLIC_URL: 'https://ledger.example.com/sms/',
    });
    expect(config.twilioAuthToken).toBe('12345678901234567890123456789012');
    expect(config.publicUrl).toBe('https://ledger.example.com/sms');
  });

  it.each(['ledger.example.com', 'ftp://ledger.example.com', 'https://ledger.example.com/?a=1'])(
    'refuse LEDGER_PUBLIC_URL=%s, saying what to write',
    (url) => {
      expect(() => loadConfig({ LEDGER_PUBLIC_URL: url })).toThrow(
        /LEDGER_PUBLIC_URL=.* must be an http\(s\) base URL such as https:\/\/ledger\.example\.com/,
      );
    },
  );
});

describe('the brands file', () => {
  const withFile = (content: object) => () =>
    loadConfig({ LEDGER_CONFIG_FILE: 'brands.json' }, () => JSON.stringify(content));

  it("takes a brand's own keywords", () => {
    const config = withFile({ brands: { acme: { keywords: { optOut: ['BASTA'], help: ['SOS'] } } } })();
    expect(config.directory.brands.acme?.keywords).toEqual({ optOut: ['BASTA'], help: ['SOS'] });
  });

  it('refuses keywords that are not lists of words, saying where', () => {
    expect(withFile({ brands: { acme: { keywords: { optOut: 'BASTA' } } } })).toThrow(
      /brands\.acme\.keywords\.optOut must be a list of words/,
    );
    expect(withFile({ brands: { acme: { keywords: { stop: ['X'] } } } })).toThrow(
      /brands\.acme\.keywords\.stop is unknown/,
    );
  });

  it('checks the confirmation template against the brand name it will carry', () => {
    expect(withFile({ brands: { acme: { displayName: 'Acme', confirmation: 'Done.' } } })).toThrow(
      /brands\.acme\.confirmation: name the sender[\s\S]*brands\.acme\.confirmation: say that the person is unsubscribed/,
    );
    expect(
      withFile({
        brands: {
          acme: {
            displayName: 'Acme',
            confirmation: 'Acme: you are unsubscribed and will receive no more messages.',
          },
        },
      }),
    ).not.toThrow();
  });
});
