/** The demo network's people (README lists them). Passwords are for the demo only. */
export const DEMO_ACCOUNTS = {
  HospitalAMSP: {
    admins: [{ username: 'admin-a', password: 'admin-a-demo', displayName: 'Hospital A administrator' }],
    practitioners: [
      { username: 'dr.ryu', password: 'ryu-demo', id: 'ryu', given: 'Jun', family: 'Ryu', npi: '1234567893', note: 'radiation oncologist, treats Mara' },
      { username: 'dr.park', password: 'park-demo', id: 'park', given: 'Ann', family: 'Park', npi: '1245319599', note: 'internist, no access to Mara' },
    ],
    patients: [
      { username: 'mara', password: 'mara-demo', given: 'Mara', family: 'Okafor', birthDate: '1961-04-12', postalCode: '11794', gender: 'female' as const, note: 'the oncology patient moving to Hospital B' },
      { username: 'leo', password: 'leo-demo', given: 'Leo', family: 'Brandt', birthDate: '1978-11-30', postalCode: '11790', gender: 'male' as const, note: 'a second patient' },
    ],
  },
  HospitalBMSP: {
    admins: [{ username: 'admin-b', password: 'admin-b-demo', displayName: 'Hospital B administrator' }],
    practitioners: [
      { username: 'dr.lee', password: 'lee-demo', id: 'lee', given: 'Min', family: 'Lee', npi: '1679576722', note: "Mara's new oncologist" },
      { username: 'dr.ortiz', password: 'ortiz-demo', id: 'ortiz', given: 'Rosa', family: 'Ortiz', npi: '1003000126', emergency: true, note: 'emergency physician (break-glass)' },
    ],
    patients: [],
  },
} as const;
