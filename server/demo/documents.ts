import { textPdf } from './pdf.js';

export interface DemoDocument {
  category: string;
  loinc: string;
  title: string;
  contentType: string;
  content: Buffer;
}

/** The oncology patient's records at Hospital A (DESIGN §7), generated as real files. */
export function oncologyDocuments(patient: { name: string; birthDate: string }, author: string): DemoDocument[] {
  const header = [`Patient: ${patient.name}   DOB: ${patient.birthDate}`, `Author: ${author}, Radiation Oncology, Hospital A`, ''];
  const labs = {
    resourceType: 'Bundle',
    type: 'collection',
    entry: [
      ['718-7', 'Hemoglobin [Mass/volume] in Blood', 11.2, 'g/dL'],
      ['6690-2', 'Leukocytes [#/volume] in Blood', 3.9, '10*3/uL'],
      ['777-3', 'Platelets [#/volume] in Blood', 182, '10*3/uL'],
      ['2160-0', 'Creatinine [Mass/volume] in Serum or Plasma', 0.9, 'mg/dL'],
    ].map(([code, display, value, unit]) => ({
      resource: {
        resourceType: 'Observation',
        status: 'final',
        category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'laboratory' }] }],
        code: { coding: [{ system: 'http://loinc.org', code, display }] },
        effectiveDateTime: '2026-10-02T08:30:00Z',
        valueQuantity: { value, unit, system: 'http://unitsofmeasure.org', code: unit },
      },
    })),
  };
  return [
    {
      category: 'history-physical',
      loinc: '34117-2',
      title: 'History and physical',
      contentType: 'application/pdf',
      content: textPdf('History and Physical Examination', [
        ...header,
        'Chief complaint: left breast mass, biopsy-proven invasive ductal carcinoma.',
        'History: 64-year-old woman, post-menopausal; no prior radiation.',
        'Exam: ECOG 0. Healed lumpectomy incision. No palpable axillary nodes.',
        'Plan: adjuvant whole-breast radiotherapy, 40.05 Gy in 15 fractions.',
      ]),
    },
    { category: 'lab-results', loinc: '11502-2', title: 'Laboratory report', contentType: 'application/fhir+json', content: Buffer.from(JSON.stringify(labs, null, 2)) },
    {
      category: 'radiation-dose',
      loinc: '73569-6',
      title: 'Radiation dose summary',
      contentType: 'application/pdf',
      content: textPdf('Delivered Radiation Dose Summary', [
        ...header,
        'Course: Left breast, whole-breast irradiation, 6 MV photons, tangents.',
        'Prescribed: 40.05 Gy / 15 fx (2.67 Gy per fraction).',
        'Delivered: 40.05 Gy / 15 fx, 2026-09-08 to 2026-09-26. No interruptions.',
        'Heart mean dose 1.1 Gy; ipsilateral lung V20 12%.',
      ]),
    },
    {
      category: 'imaging',
      loinc: '18748-4',
      title: 'Imaging report',
      contentType: 'application/pdf',
      content: textPdf('Diagnostic Imaging Report', [...header, 'CT simulation, chest: no distant disease. Clips in the tumor bed.']),
    },
    {
      category: 'treatment-plan',
      loinc: '18776-5',
      title: 'Treatment plan',
      contentType: 'application/pdf',
      content: textPdf('Radiotherapy Treatment Plan', [...header, 'Technique: 3D-CRT tangents; plan approved 2026-09-04.', 'Follow-up: 6 weeks after completion.']),
    },
  ];
}
