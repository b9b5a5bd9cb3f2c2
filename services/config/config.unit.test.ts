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
