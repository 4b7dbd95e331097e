/**
 * The CMS check-digit rule for a National Provider Identifier: 10 digits whose last is the Luhn check digit of the
 * first nine prefixed with 80840 (the ISO 7812 issuer prefix for US health applications).
 */
export function npiCheckDigitValid(npi: string): boolean {
  if (!/^\d{10}$/.test(npi)) return false;
  const digits = `80840${npi}`;
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}
