import { documentBody } from '../../server/demo/fhir-bodies.js';
import { seedDemo } from '../../server/demo/seed.js';
import { fhir, startTestNetwork, type TestNetwork } from './network.js';

export { consentBody, documentBody } from '../../server/demo/fhir-bodies.js';
export { DATA_CATEGORY_SYSTEM as CATEGORY_SYSTEM } from '../../profiles/index.js';

// no vitest here: benchmarks (bench/share.ts) import these helpers outside the test runner

/** A test network seeded as `npm start` seeds it (server/demo/seed.ts), and Mara, the oncology patient of DESIGN §7. */
export async function startDemoNetwork(): Promise<{ net: TestNetwork; mara: { patientId: string; pseudonym: string } }> {
  const net = await startTestNetwork();
  await seedDemo(net.a, net.b, () => undefined);
  const user = await net.a.users.find('mara');
  return { net, mara: { patientId: user!.fhir_user.replace('Patient/', ''), pseudonym: user!.pseudonym! } };
}

/** The people of DESIGN §7 on a test network: the patient at A, Dr. Ryu at A, Dr. Lee at B, an unrelated doctor at A. */
export async function enrollSeedPeople(net: TestNetwork) {
  const patient = await net.a.enrollment.enrollPatient({ username: 'mara', password: 'pw-mara', given: 'Mara', family: 'Okafor', birthDate: '1961-04-12', postalCode: '11794', gender: 'female' });
  await net.a.enrollment.enrollPractitioner({ username: 'ryu', password: 'pw-ryu', id: 'ryu', given: 'Jun', family: 'Ryu', npi: '1234567893' });
  await net.a.enrollment.enrollPractitioner({ username: 'park', password: 'pw-park', id: 'park', given: 'Ann', family: 'Park', npi: '1245319599' });
  await net.b.enrollment.enrollPractitioner({ username: 'lee', password: 'pw-lee', id: 'lee', given: 'Min', family: 'Lee', npi: '1679576722' });
  return {
    patientId: patient.patientId,
    pseudonym: patient.pseudonym,
    tokens: {
      patient: await net.a.tokenFor('mara'),
      ryu: await net.a.tokenFor('ryu'),
      park: await net.a.tokenFor('park'),
      lee: await net.b.tokenFor('lee'),
    },
  };
}

/** Dr. Ryu uploads a PDF for the seed patient at A, inline or streamed as a Binary first; the id and the bytes. */
export async function uploadAsRyu(net: TestNetwork, people: { patientId: string; tokens: { ryu: string } }, category: string, loinc: string, bytes: Buffer, viaBinary: boolean): Promise<{ id: string; bytes: Buffer }> {
  let body;
  if (viaBinary) {
    const res = await fetch(`${net.a.baseUrl}/Binary`, { method: 'POST', headers: { authorization: `Bearer ${people.tokens.ryu}`, 'content-type': 'application/pdf' }, body: bytes });
    if (res.status !== 201) throw new Error(`Binary upload: ${res.status} ${await res.text()}`);
    body = documentBody(people.patientId, category, loinc, { binaryId: ((await res.json()) as { id: string }).id, contentType: 'application/pdf' });
  } else {
    body = documentBody(people.patientId, category, loinc, { data: bytes, contentType: 'application/pdf' });
  }
  const res = await fhir(net.a.baseUrl, people.tokens.ryu, 'POST', 'DocumentReference', body);
  if (res.status !== 201) throw new Error(`DocumentReference create: ${res.status} ${res.text}`);
  return { id: res.body!.id, bytes };
}
