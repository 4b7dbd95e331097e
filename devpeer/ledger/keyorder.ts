// Fabric compares keys as UTF-8 bytes, which equals Unicode code point order. JavaScript's `<` compares
// UTF-16 code units instead, and the two disagree only when a surrogate (D800–DFFF, i.e. a character
// above U+FFFF) meets a code unit in E000–FFFF: code point order puts the supplementary character last.

/** Negative, zero or positive as `a` sorts before, with or after `b` in UTF-8 byte order. */
export function compareUtf8(a: string, b: string): number {
  if (a === b) return 0;
  const n = a.length < b.length ? a.length : b.length;
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) {
      if (x >= 0xd800 && y >= 0xd800) return rank(x) - rank(y);
      return x - y;
    }
  }
  return a.length - b.length;
}

// Moves surrogates above E000–FFFF so that code units sort like the code points they belong to.
function rank(c: number): number {
  return c >= 0xe000 ? c - 0x800 : c + 0x2000;
}
