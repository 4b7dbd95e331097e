import { describe, expect, it } from 'vitest';
import { FhirInputError, parseFhirJson } from '../../server/fhir/validation/index.js';

function inputError(f: () => unknown): FhirInputError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(FhirInputError);
    return e as FhirInputError;
  }
  throw new Error('expected a FhirInputError');
}

describe('parseFhirJson', () => {
  it('parses a resource from a string or a UTF-8 buffer, dropping a BOM', () => {
    expect(parseFhirJson('{"resourceType":"Patient","name":[{"text":"Ünal"}]}')).toEqual({ resourceType: 'Patient', name: [{ text: 'Ünal' }] });
    const bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"resourceType":"Patient"}')]);
    expect(parseFhirJson(bytes)).toEqual({ resourceType: 'Patient' });
  });

  it('keeps keys and braces inside strings out of the structure checks', () => {
    const text = JSON.stringify({ resourceType: 'Basic', text: { div: 'a "__proto__" {[{[ \\" ]]' }, a: ['}', '{', '"constructor"'] });
    expect(parseFhirJson(text)).toEqual(JSON.parse(text));
  });

  it('rejects 10,000-deep nesting cleanly, for objects and arrays', () => {
    const deepObject = '{"a":'.repeat(10_000) + '1' + '}'.repeat(10_000);
    const e = inputError(() => parseFhirJson(deepObject));
    expect(e.message).toMatch(/deeper than 100 levels/);
    const deepArray = '{"resourceType":"Basic","a":' + '['.repeat(10_000) + ']'.repeat(10_000) + '}';
    expect(inputError(() => parseFhirJson(deepArray)).code).toBe('too-long');
  });

  it('accepts nesting up to the limit and honours a custom limit', () => {
    const nested = (depth: number) => '{"a":'.repeat(depth - 1) + '{}' + '}'.repeat(depth - 1);
    expect(() => parseFhirJson(nested(100))).not.toThrow();
    inputError(() => parseFhirJson(nested(101)));
    inputError(() => parseFhirJson(nested(6), { maxDepth: 5 }));
  });

  it('rejects a 20 MB body before parsing it, as a string or a buffer', () => {
    const big = '{"resourceType":"Basic","x":"' + 'a'.repeat(20 * 1024 * 1024) + '"}';
    const started = performance.now();
    const e = inputError(() => parseFhirJson(big));
    expect(e.code).toBe('too-long');
    expect(e.message).toMatch(/10485760 bytes/);
    inputError(() => parseFhirJson(Buffer.from(big)));
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it('counts bytes, not characters', () => {
    const text = '{"x":"' + 'é'.repeat(60) + '"}'; // 66 characters, 126 bytes
    inputError(() => parseFhirJson(text, { maxBytes: 100 }));
    expect(() => parseFhirJson(text, { maxBytes: 200 })).not.toThrow();
  });

  it('rejects __proto__, constructor and prototype keys anywhere, even escaped', () => {
    for (const body of [
      '{"resourceType":"Patient","__proto__":{"admin":true}}',
      '{"resourceType":"Patient","name":[{"constructor":{"prototype":{}}}]}',
      '{"resourceType":"Patient","meta":{"prototype":1}}',
      '{"resourceType":"Patient","\\u005f_proto__":{"admin":true}}',
    ]) {
      const e = inputError(() => parseFhirJson(body));
      expect(e.code).toBe('security');
    }
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
  });

  it('rejects duplicate keys, including escaped duplicates, but not the same key in sibling objects', () => {
    expect(inputError(() => parseFhirJson('{"resourceType":"Patient","id":"a","id":"b"}')).message).toMatch(/"id" twice/);
    inputError(() => parseFhirJson('{"resourceType":"Patient","id":"a","\\u0069d":"b"}'));
    expect(parseFhirJson('{"a":[{"id":"1"},{"id":"2"}],"b":{"id":"3"}}')).toEqual({ a: [{ id: '1' }, { id: '2' }], b: { id: '3' } });
  });

  it('rejects malformed JSON, invalid UTF-8 and non-object documents', () => {
    expect(inputError(() => parseFhirJson('{"resourceType":"Patient",}')).message).toMatch(/malformed JSON/);
    inputError(() => parseFhirJson('{"resourceType":"Pat'));
    inputError(() => parseFhirJson(''));
    expect(inputError(() => parseFhirJson(Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]))).message).toMatch(/UTF-8/);
    for (const text of ['[]', '1', 'null', '"Patient"']) {
      expect(inputError(() => parseFhirJson(text)).message).toMatch(/JSON object/);
    }
  });
});
