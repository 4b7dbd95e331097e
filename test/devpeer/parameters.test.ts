// The devpeer's cheaper DataMarshall.handleParameters (devpeer/runtime/shim.ts) behaves exactly like
// fabric-shim's own: same values, same errors, for matching, mismatching and invalid arguments.
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import '../../devpeer/runtime/shim.js';

const require = createRequire(import.meta.url);
const modulePath = require.resolve('fabric-shim/lib/contract-spi/datamarshall.js');

type Marshall = { handleParameters(fn: object, args: Buffer[], prefix: string): unknown[] };
type MarshallClass = new (serializer: string, serializers: Record<string, unknown>, components: object) => Marshall;

const Patched = require(modulePath) as MarshallClass;
delete require.cache[modulePath];
const Original = require(modulePath) as MarshallClass;

const serializers = { jsonSerializer: (require('fabric-contract-api') as { JSONSerializer: unknown }).JSONSerializer };
const components = {
  Grant: { $id: 'Grant', type: 'object', properties: { id: { type: 'string' }, n: { type: 'number' } }, required: ['id'], additionalProperties: false },
};

function outcome(make: MarshallClass, fn: object, args: string[]): unknown {
  const marshall = new make('jsonSerializer', serializers, components);
  try {
    return { value: marshall.handleParameters(fn, args.map((a) => Buffer.from(a)), '[test]') };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

describe('handleParameters', () => {
  it('is a different function from the shim original, with the same results', () => {
    expect(Patched.prototype.handleParameters).not.toBe(Original.prototype.handleParameters);
    const strings = { name: 'Put', parameters: [{ name: 'k', schema: { type: 'string' } }, { name: 'v', schema: { type: 'string' } }] };
    const typed = {
      name: 'Typed',
      parameters: [
        { name: 'count', schema: { type: 'number' } },
        { name: 'grant', schema: { $ref: '#/components/schemas/Grant' } },
      ],
    };
    const untyped = { name: 'Loose' };
    const broken = { name: 'Broken', parameters: [{ name: 'x', schema: { format: 'date' } }] };
    const cases: [object, string[]][] = [
      [strings, ['a', 'b']],
      [strings, ['a']],
      [strings, ['a', 'b', 'c']],
      [typed, ['3', '{"id":"g1","n":2}']],
      [typed, ['three', '{"id":"g1"}']],
      [typed, ['3', '{"n":2}']],
      [typed, ['3', '{"id":"g1","extra":true}']],
      [typed, ['3', 'not json']],
      [untyped, ['x', 'y']],
      [untyped, []],
      [broken, ['x']],
    ];
    for (const [fn, args] of cases) {
      // twice: the second call uses the cached validator
      for (let i = 0; i < 2; i++) expect(outcome(Patched, fn, args), JSON.stringify([fn, args])).toEqual(outcome(Original, fn, args));
    }
  });
});
