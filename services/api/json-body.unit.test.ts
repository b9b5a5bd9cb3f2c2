import fc from 'fast-check';
import { firstDuplicateKey, repeatedKey } from './json-body.js';

describe('a repeated key in a JSON body', () => {
  it.each([
    ['{"type":"opt_out","phone":"1","type":"opt_in"}', 'type', ''],
    ['{"evidence":{"note":"a","note":"b"}}', 'note', 'evidence'],
    ['{"a":{"b":{"c":1,"c":2}}}', 'c', 'a.b'],
    ['{"items":[{"a":1},{"a":1,"a":2}]}', 'a', 'items[]'],
    ['[[{"x":1,"x":1}]]', 'x', '[][]'],
    ['{"typ\\u0065":1,"type":2}', 'type', ''],
    ['{"a\\\\":1,"a\\\\":2}', 'a\\', ''],
    [' { "a" : 1 , "b" : { } , "a" : 3 } ', 'a', ''],
    ['{"a":1,"a":2,"b":"\\u003a"}', 'a', ''],
    ['{"a":1,"a":2,"b":"tel:+1"}', 'a', ''],
  ])('%s repeats %s (at "%s")', (text, key, path) => {
    expect(firstDuplicateKey(text)).toEqual({ key, path });
    expect(repeatedKey(text, JSON.parse(text))).toEqual({ key, path });
  });

  it.each([
    '{"a":1,"b":{"a":1},"c":[{"a":1},{"a":2}]}',
    '{"note":"\\"note\\": 1, {\\"note\\": 2}","x":"note"}',
    '{"a\\\\":1,"a":2}',
    '{"a\\"":1,"a":2}',
    '["a","a",{"a":1}]',
    '"a"',
    '{}',
  ])('%s repeats nothing', (text) => {
    expect(firstDuplicateKey(text)).toBeUndefined();
    expect(repeatedKey(text, JSON.parse(text))).toBeUndefined();
  });

  it('is never found in what JSON.stringify writes (any value, any strings)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const text = JSON.stringify(value);
        expect(firstDuplicateKey(text)).toBeUndefined();
        expect(repeatedKey(text, value)).toBeUndefined();
      }),
      { numRuns: 500 },
    );
  });

  it('is found wherever a key is written twice (any object, any key text)', () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.string(), fc.jsonValue(), { minKeys: 1 }),
        fc.string({ unit: 'binary' }),
        fc.jsonValue(),
        (object, key, value) => {
          const text = JSON.stringify({ ...object, [key]: value });
          const repeated = `${text.slice(0, -1)},${JSON.stringify(key)}:1}`;
          const body = `{"outer":[${repeated}]}`;
          expect(firstDuplicateKey(body)).toEqual({ key, path: 'outer[]' });
          // The quick count must never wave a repeated key through, whatever the strings hold.
          expect(repeatedKey(body, JSON.parse(body))).toEqual({ key, path: 'outer[]' });
        },
      ),
      { numRuns: 500 },
    );
  });
});
