// Regenerates the snapshots of profiles/StructureDefinition-*.json from their differentials:
//   npx tsx profiles/generate.ts
// Edit the differential, run this, commit both. test/fhir-shapes checks the snapshots are current.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StructureDefinition } from '@medplum/fhirtypes';
import { loadProfiles, PROFILES_DIR } from './index.js';
import { buildSnapshot, loadBaseDefinition } from './snapshot.js';

const bases = new Map<string, StructureDefinition>();
for (const sd of loadProfiles().structureDefinitions) {
  const baseUrl = sd.baseDefinition ?? '';
  if (!bases.has(baseUrl)) bases.set(baseUrl, loadBaseDefinition(baseUrl));
  const file = join(PROFILES_DIR, `StructureDefinition-${sd.id}.json`);
  const onDisk = JSON.parse(readFileSync(file, 'utf8')) as StructureDefinition;
  onDisk.snapshot = { element: buildSnapshot(onDisk, bases.get(baseUrl) as StructureDefinition) };
  writeFileSync(file, JSON.stringify(onDisk, null, 2) + '\n');
  console.log(`${file}: ${onDisk.snapshot.element?.length} snapshot elements`);
}
