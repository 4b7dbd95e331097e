import { afterEach, describe, expect, it } from 'vitest';
import { compareUtf8 } from '../../devpeer/ledger/index.js';
import { SortedKeys } from '../../devpeer/ledger/sortedkeys.js';
import { cleanupDirs, open, tempLedgerDir } from './helpers.js';
import { CHAINCODE, buildEnvelope } from './txbuilder.js';

const byBytes = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));

afterEach(cleanupDirs);

describe('UTF-8 key order', () => {
  it('agrees with byte comparison of the UTF-8 encodings, unlike JavaScript string order', () => {
    const keys = ['a\uE000', 'a\u{10000}', 'a\uFFFF', 'a', 'a\u{1F600}', 'a\u00E9', 'a\u0000b', 'a\u{10FFFF}', 'ab'];
    expect([...keys].sort(compareUtf8)).toEqual([...keys].sort(byBytes));
    expect([...keys].sort()).not.toEqual([...keys].sort(byBytes)); // the trap this guards against
  });

  it('matches byte order on random strings mixing BMP, private-use and supplementary characters', () => {
    const alphabet = ['a', 'z', '\u0000', '\u00ff', '\ud7ff', '\ue000', '\uffff', '\u{10000}', '\u{1F600}', '\u{10FFFF}'];
    let seed = 42;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const keys = Array.from({ length: 400 }, () =>
      Array.from({ length: 1 + rnd(4) }, () => alphabet[rnd(alphabet.length)]).join(''),
    );
    expect([...keys].sort(compareUtf8)).toEqual([...keys].sort(byBytes));
  });

  it('keeps a sorted set across thousands of inserts and deletes', () => {
    const s = new SortedKeys();
    const ref = new Set<string>();
    for (let i = 0; i < 5000; i++) {
      const k = `k${(i * 7919) % 3001}${i % 3 === 0 ? '\u{1F600}' : '\uE000'}`;
      if (i % 5 === 4) {
        expect(s.delete(k)).toBe(ref.delete(k));
      } else {
        expect(s.add(k)).toBe(!ref.has(k));
        ref.add(k);
      }
    }
    expect(s.size).toBe(ref.size);
    expect(s.keys()).toEqual([...ref].sort(byBytes));
  });
});

describe('range scans on the ledger', () => {
  async function ledgerWith(keys: string[]) {
    const l = await open(tempLedgerDir());
    await l.commitBlock([buildEnvelope({ writes: keys.map((key) => ({ key, value: `v:${key}` })) })]);
    return l;
  }

  it('yields keys in UTF-8 order, including surrogate-pair keys after U+E000–U+FFFF', async () => {
    const keys = ['k\u{10000}', 'k\uE000', 'k\uFFFF', 'k', 'k\u{1F600}', 'kz'];
    const l = await ledgerWith(keys);
    const got = [...l.getStateRange(CHAINCODE, '', '')].map((kv) => kv.key);
    expect(got).toEqual(['k', 'kz', 'k\uE000', 'k\uFFFF', 'k\u{10000}', 'k\u{1F600}']);
    await l.close();
  });

  it('treats the end key as exclusive and an empty end as unbounded', async () => {
    const l = await ledgerWith(['a', 'b', 'c', 'd']);
    const keys = (s: string, e: string) => [...l.getStateRange(CHAINCODE, s, e)].map((kv) => kv.key);
    expect(keys('b', 'd')).toEqual(['b', 'c']);
    expect(keys('b', '')).toEqual(['b', 'c', 'd']);
    expect(keys('', 'b')).toEqual(['a']);
    expect(keys('bb', 'c')).toEqual([]);
    expect([...l.getStateRange('other-namespace', '', '')]).toEqual([]);
    await l.close();
  });

  it('scans a composite-key prefix with \\u{10FFFF} as range max', async () => {
    const ck = (...parts: string[]) => `\u0000${parts.join('\u0000')}\u0000`;
    const l = await ledgerWith([ck('permission', 'p1', 'x'), ck('permission', 'p1', '\u{1F600}'), ck('permission', 'p2', 'a'), ck('patient', 'p1')]);
    const prefix = ck('permission', 'p1');
    const got = [...l.getStateRange(CHAINCODE, prefix, prefix + '\u{10FFFF}')].map((kv) => kv.key);
    expect(got).toEqual([ck('permission', 'p1', 'x'), ck('permission', 'p1', '\u{1F600}')]);
    await l.close();
  });

  it('stays ordered and duplicate-free while blocks commit during the scan', async () => {
    const l = await ledgerWith(['k02', 'k04', 'k06', 'k08', 'k10']);
    const it = l.getStateRange(CHAINCODE, 'k', '')[Symbol.iterator]();
    const seen = [it.next().value!.key, it.next().value!.key];
    // insert before and after the cursor, delete the next key, rewrite a later one
    await l.commitBlock([
      buildEnvelope({
        writes: [
          { key: 'k01', value: 'new' },
          { key: 'k05', value: 'new' },
          { key: 'k06', isDelete: true },
          { key: 'k08', value: 'rewritten' },
        ],
      }),
    ]);
    for (let r = it.next(); !r.done; r = it.next()) seen.push(r.value.key);
    expect(seen).toEqual(['k02', 'k04', 'k05', 'k08', 'k10']);
    expect(Buffer.from(l.getState(CHAINCODE, 'k08')!.value).toString()).toBe('rewritten');
    await l.close();
  });
});
