// Entry point for fabric-chaincode-node (package.json "main" → dist/index.js): fabric-shim's bootstrap
// requires this module and registers `contracts`.
import { ConsentContract } from './consent-contract.js';

export { ConsentContract };
export const contracts = [ConsentContract];

export type * from './records.js';
export { CATEGORIES, type Category } from './categories.js';
