import fs from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

/** One entry of a practitioner directory (the stand-in for the National Practitioner Data Bank / NPPES). */
export interface DirectoryEntry {
  npi: string;
  given?: string;
  family?: string;
  /** anything but "active" (e.g. deactivated, excluded) refuses enrollment */
  status?: string;
}

export interface PractitionerDirectory {
  /** where it looks, for messages */
  readonly source: string;
  /** the entry for `npi`, undefined when the directory does not list it; throws when the directory cannot be asked */
  lookup(npi: string): Promise<DirectoryEntry | undefined>;
}

/** The directory that ships with the demo data. */
export const DEMO_PRACTITIONER_DIRECTORY = fileURLToPath(new URL('../demo/practitioner-directory.json', import.meta.url));

const FETCH_TIMEOUT_MS = 10_000;

/**
 * A directory from a JSON file or URL holding `{"practitioners": [DirectoryEntry, ...]}` (read on every lookup, so
 * edits apply at once), or from a URL template with `{npi}` answering one DirectoryEntry (404: not listed).
 */
export function practitionerDirectory(source: string): PractitionerDirectory {
  const isUrl = /^https?:\/\//i.test(source);
  return {
    source,
    async lookup(npi) {
      if (isUrl && source.includes('{npi}')) {
        const res = await fetch(source.replaceAll('{npi}', encodeURIComponent(npi)), { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS), headers: { accept: 'application/json' } });
        if (res.status === 404) return undefined;
        if (!res.ok) throw new Error(`practitioner directory ${source} answered ${res.status}`);
        const entry = (await res.json()) as DirectoryEntry;
        return entry?.npi === npi ? entry : undefined;
      }
      const text = isUrl ? await fetchText(source) : await fs.readFile(source, 'utf8');
      const doc = JSON.parse(text) as { practitioners?: DirectoryEntry[] };
      if (!Array.isArray(doc.practitioners)) throw new Error(`practitioner directory ${source} has no "practitioners" list`);
      return doc.practitioners.find((p) => p.npi === npi);
    },
  };
}

async function fetchText(url: string): Promise<string> {
  const res = await fetch(url, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS), headers: { accept: 'application/json' } });
  if (!res.ok) throw new Error(`practitioner directory ${url} answered ${res.status}`);
  return res.text();
}
