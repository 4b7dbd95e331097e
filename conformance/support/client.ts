import { Client, type FhirResource } from 'fhir-kit-client';
import type { Resource } from '../../server/fhir/resource.js';
import { assertConforms } from './received.js';

export interface Answer {
  status: number;
  headers: Headers;
  /** undefined when the body was empty (Prefer: return=minimal) */
  resource: Resource | undefined;
}

export interface RawAnswer {
  status: number;
  headers: Headers;
  /** the parsed body when the server answered JSON */
  json: Resource | undefined;
  bytes: Buffer;
}

interface FhirKitError {
  response?: { status: number; data: unknown };
  config?: { headers?: Headers };
}

/**
 * One user of the API, driving it with fhir-kit-client (a standard FHIR client) and, for what such a client
 * cannot send (raw Binary content, malformed bodies), with fetch. Every resource that comes back is checked
 * by `assertConforms` before the test sees it.
 */
export class FhirUser {
  readonly client: Client;

  constructor(
    readonly name: string,
    readonly baseUrl: string,
    readonly token?: string,
  ) {
    this.client = new Client({ baseUrl, ...(token ? { bearerToken: token } : {}) });
  }

  /** A call that must succeed (2xx); returns what came back, already checked. */
  async ok(call: (client: Client) => Promise<FhirResource>): Promise<Answer> {
    const result = await call(this.client);
    const response = Client.httpFor(result).response;
    if (!response) throw new Error('fhir-kit-client returned no HTTP response');
    const resource = typeof result.resourceType === 'string' ? (result as unknown as Resource) : undefined;
    if (resource) assertConforms(resource);
    return { status: response.status, headers: response.headers, resource };
  }

  /** A call that must fail; returns the status and the OperationOutcome that explains it, already checked. */
  async fails(call: (client: Client) => Promise<FhirResource>): Promise<{ status: number; headers: Headers; outcome: Resource }> {
    let result: FhirResource;
    try {
      result = await call(this.client);
    } catch (err) {
      const { response, config } = err as FhirKitError;
      if (!response) throw err;
      const outcome = response.data as Resource;
      if (outcome?.resourceType !== 'OperationOutcome') throw new Error(`HTTP ${response.status} without an OperationOutcome: ${JSON.stringify(response.data).slice(0, 300)}`);
      assertConforms(outcome);
      return { status: response.status, headers: config?.headers ?? new Headers(), outcome };
    }
    throw new Error(`expected a failure, got HTTP ${Client.httpFor(result).response?.status}: ${JSON.stringify(result).slice(0, 300)}`);
  }

  /** Plain HTTP below the FHIR base; a JSON answer must be a conforming resource. */
  async raw(method: string, path: string, opts: { body?: string | Buffer | ReadableStream; headers?: Record<string, string> } = {}): Promise<RawAnswer> {
    const res = await fetch(`${this.baseUrl}/${path}`, {
      method,
      headers: { ...(this.token ? { authorization: `Bearer ${this.token}` } : {}), ...opts.headers },
      body: opts.body,
      ...(opts.body instanceof ReadableStream ? { duplex: 'half' } : {}),
    } as RequestInit);
    const bytes = Buffer.from(await res.arrayBuffer());
    let json: Resource | undefined;
    if (/json/.test(res.headers.get('content-type') ?? '') && bytes.length > 0) {
      json = JSON.parse(bytes.toString('utf8')) as Resource;
      assertConforms(json, `${method} ${path.split('?')[0]} → ${res.status}`);
    }
    return { status: res.status, headers: res.headers, json, bytes };
  }
}

/** The ids of a searchset's matches, in order. */
export function matchIds(bundle: Resource | undefined): string[] {
  const entries = (bundle?.entry as { resource?: Resource; search?: { mode?: string } }[] | undefined) ?? [];
  return entries.filter((e) => e.search?.mode === 'match').map((e) => e.resource?.id as string);
}

/** The resources of a searchset's entries in one search mode. */
export function entriesOf(bundle: Resource | undefined, mode: 'match' | 'include' | 'outcome'): Resource[] {
  const entries = (bundle?.entry as { resource?: Resource; search?: { mode?: string } }[] | undefined) ?? [];
  return entries.filter((e) => e.search?.mode === mode).map((e) => e.resource as Resource);
}
