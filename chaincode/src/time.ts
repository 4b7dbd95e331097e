import { invalid } from './errors.js';

// All times are ISO-8601 instants in UTC with millisecond precision ("2025-01-02T03:04:05.678Z").
// Input may carry any offset or a bare date; it is normalized so that string order equals time order.

const INSTANT = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:\d{2}))?$/;

/** Milliseconds since the epoch of an ISO-8601 date or date-time; throws Invalid argument. */
export function parseInstant(text: unknown, what: string): number {
  if (typeof text !== 'string') throw invalid(`${what} must be an ISO-8601 date-time string`);
  const m = INSTANT.exec(text);
  if (!m) throw invalid(`${what} is not an ISO-8601 date-time with a time zone: ${JSON.stringify(text)}`);
  const [, y, mo, d, h = '00', mi = '00', s = '00', frac = '', zone = 'Z'] = m;
  const year = Number(y), month = Number(mo), day = Number(d);
  const hour = Number(h), minute = Number(mi), second = Number(s);
  const millis = Number((frac + '000').slice(0, 3));
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) {
    throw invalid(`${what} is out of range: ${text}`);
  }
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (day > daysInMonth) throw invalid(`${what} is out of range: ${text}`);
  let offsetMinutes = 0;
  if (zone !== 'Z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    const oh = Number(zone.slice(1, 3)), om = Number(zone.slice(4, 6));
    if (oh > 23 || om > 59) throw invalid(`${what} has an invalid offset: ${text}`);
    offsetMinutes = sign * (oh * 60 + om);
  }
  const utc = new Date(0);
  utc.setUTCFullYear(year, month - 1, day);
  utc.setUTCHours(hour, minute, second, millis);
  const ms = utc.getTime() - offsetMinutes * 60_000;
  if (ms < 0 || ms > MAX_MS) throw invalid(`${what} is out of range: ${text}`);
  return ms;
}

// Keeps toISOString() in its four-digit-year form.
const MAX_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

export function isoFromMs(ms: number): string {
  return new Date(ms).toISOString();
}

export function normalizeInstant(text: unknown, what: string): string {
  return isoFromMs(parseInstant(text, what));
}

interface TxTimestamp {
  seconds: number | { toNumber(): number };
  nanos: number;
}

/** The transaction time (the client's channel-header timestamp), never the local clock. */
export function txTimeMs(stub: { getTxTimestamp(): unknown }): number {
  const ts = stub.getTxTimestamp() as TxTimestamp;
  const seconds = typeof ts.seconds === 'number' ? ts.seconds : ts.seconds.toNumber();
  return seconds * 1000 + Math.floor((ts.nanos ?? 0) / 1_000_000);
}

export function timestampToIso(ts: { seconds: number | string | { toNumber(): number }; nanos?: number }): string {
  const seconds = typeof ts.seconds === 'object' ? ts.seconds.toNumber() : Number(ts.seconds);
  return isoFromMs(seconds * 1000 + Math.floor((ts.nanos ?? 0) / 1_000_000));
}
