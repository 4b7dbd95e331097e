// fabric-shim's own pieces, loaded exactly as the chaincode process would use them: the real
// ChaincodeStub, the contract dispatcher, the query iterators, and the fabric-protos 0.2.2 classes the
// shim nests (its stub and iterators decode with those, so messages handed to them are built with them).
import { createRequire } from 'node:module';
import { inspect } from 'node:util';

type ShimProtos = typeof import('fabric-shim/node_modules/@hyperledger/fabric-protos/lib/index.js');

const require = createRequire(import.meta.url);
const stubPath = require.resolve('fabric-shim/lib/stub.js');
const requireFromShim = createRequire(stubPath);

export const shimProtos: ShimProtos = requireFromShim('@hyperledger/fabric-protos');

export interface ShimResponse {
  status: number;
  message?: string;
  payload?: Uint8Array;
}

/** The handler surface the stub and iterators call (the peer side of the chaincode protocol). */
export interface StubHandler {
  handleGetState(collection: string, key: string, channelId: string, txId: string): Promise<Buffer>;
  handlePutState(collection: string, key: string, value: Uint8Array, channelId: string, txId: string): Promise<void>;
  handleDeleteState(collection: string, key: string, channelId: string, txId: string): Promise<void>;
  handlePurgeState(collection: string, key: string, channelId: string, txId: string): Promise<void>;
  handlePutStateMetadata(collection: string, key: string, metakey: string, ep: Uint8Array, channelId: string, txId: string): Promise<void>;
  handleGetStateMetadata(collection: string, key: string, channelId: string, txId: string): Promise<Record<string, Uint8Array>>;
  handleGetPrivateDataHash(collection: string, key: string, channelId: string, txId: string): Promise<Buffer>;
  handleGetStateByRange(
    collection: string,
    startKey: string,
    endKey: string,
    channelId: string,
    txId: string,
    metadata?: Uint8Array,
  ): Promise<{ iterator: unknown; metadata?: { bookmark: string; fetchedRecordsCount: number } }>;
  handleQueryStateNext(id: string, channelId: string, txId: string): Promise<InstanceType<ShimProtos['peer']['QueryResponse']>>;
  handleQueryStateClose(id: string, channelId: string, txId: string): Promise<InstanceType<ShimProtos['peer']['QueryResponse']>>;
  handleGetQueryResult(collection: string, query: string, metadata: Uint8Array | null, channelId: string, txId: string): Promise<unknown>;
  handleGetHistoryForKey(key: string, channelId: string, txId: string): Promise<unknown>;
  handleInvokeChaincode(chaincodeName: string, args: string[], channelId: string, txId: string): Promise<unknown>;
}

export interface ChaincodeStubInstance {
  chaincodeEvent?: InstanceType<ShimProtos['peer']['ChaincodeEvent']>;
}

export type ChaincodeStubConstructor = new (
  handler: StubHandler,
  channelId: string,
  txId: string,
  input: InstanceType<ShimProtos['peer']['ChaincodeInput']>,
  signedProposal: InstanceType<ShimProtos['peer']['SignedProposal']>,
) => ChaincodeStubInstance;

export interface ContractChaincode {
  Invoke(stub: ChaincodeStubInstance): Promise<ShimResponse>;
}

export type ChaincodeFromContractConstructor = new (
  contracts: unknown[],
  serializers: { transaction: string; serializers: Record<string, unknown> },
  metadata: object,
  title: string,
  version: string,
) => ContractChaincode;

type IteratorConstructor = new (
  handler: StubHandler,
  channelId: string,
  txId: string,
  response: InstanceType<ShimProtos['peer']['QueryResponse']>,
) => unknown;

export const ChaincodeStub: ChaincodeStubConstructor = require('fabric-shim/lib/stub.js');
export const ChaincodeFromContract: ChaincodeFromContractConstructor = require('fabric-shim/lib/contract-spi/chaincodefromcontract.js');
const iterators = require('fabric-shim/lib/iterators.js') as { StateQueryIterator: IteratorConstructor; HistoryQueryIterator: IteratorConstructor };
export const StateQueryIterator = iterators.StateQueryIterator;
export const HistoryQueryIterator = iterators.HistoryQueryIterator;
export const JSONSerializer: unknown = (require('fabric-contract-api') as { JSONSerializer: unknown }).JSONSerializer;

/**
 * fabric-shim's and fabric-contract-api's winston loggers write every level to stdout and, on load,
 * install process-wide uncaughtException/unhandledRejection catchers that keep a broken process alive.
 * Inside the devpeer stdout belongs to the CLI's JSON line and crashes must stay crashes, so their
 * output goes to stderr and those catchers come back out.
 */
interface WinstonLogger {
  transports: { stderrLevels?: Record<string, boolean> }[];
  exceptions: { unhandle(): void };
  isLevelEnabled(level: string): boolean;
  levels: Record<string, number>;
  level: string;
  _readableState: { pipes: unknown };
  [method: string]: unknown;
}

/** A winston level's number, or null for an unknown (or unset) level name. */
function levelValue(levels: Record<string, number>, name: string | undefined): number | null {
  const v = name === undefined ? undefined : levels[name];
  return !v && v !== 0 ? null : v;
}

/**
 * winston 3's Logger#isLevelEnabled, reading the pipe targets directly: its `transports` getter builds a
 * new array on every call, and the shim asks several times per transaction. No closures or arrays are
 * created per call (tsx wraps every named closure in a defineProperty call).
 */
function levelEnabled(logger: WinstonLogger, level: string): boolean {
  const given = levelValue(logger.levels, level);
  if (given === null) return false;
  const configured = levelValue(logger.levels, logger.level);
  if (configured === null) return false;
  const pipes = logger._readableState.pipes as { level?: string }[] | { level?: string } | null | undefined;
  if (!pipes) return configured >= given;
  if (!Array.isArray(pipes)) return (levelValue(logger.levels, pipes.level) ?? configured) >= given;
  if (pipes.length === 0) return configured >= given;
  for (const t of pipes) {
    if ((levelValue(logger.levels, t.level) ?? configured) >= given) return true;
  }
  return false;
}

const LEVELS = ['error', 'warn', 'info', 'http', 'verbose', 'debug', 'silly', 'fatal'];

/**
 * winston pushes every call, enabled level or not, through its stream pipeline before filtering; the
 * shim logs several debug lines per transaction. Disabled levels return at once instead.
 */
function skipDisabledLevels(logger: WinstonLogger): void {
  for (const level of LEVELS) {
    const log = logger[level];
    if (typeof log !== 'function' || Object.hasOwn(logger, level)) continue;
    logger[level] = (...args: unknown[]) => (levelEnabled(logger, level) ? log.apply(logger, args) : logger);
  }
}

/** Module-level loggers of fabric-shim and fabric-contract-api that run per transaction. */
const HOT_LOGGERS: Record<string, string[]> = {
  'fabric-shim/lib/logger.js': ['lib/stub.js', 'lib/chaincode.js', 'lib/iterators.js', 'contracts-spi/chaincodefromcontract.js', 'contracts-spi/datamarshall.js'],
  'fabric-contract-api/lib/logger.js': ['./lib/contract.js', './lib/jsontransactionserializer.js'],
};

function tameLoggers(): void {
  const allLevels = Object.fromEntries(LEVELS.map((level) => [level, true]));
  for (const [modulePath, names] of Object.entries(HOT_LOGGERS)) {
    const logging = require(modulePath) as { getLogger(name: string): WinstonLogger };
    const catchAll = logging.getLogger('_');
    catchAll.exceptions.unhandle();
    // '_' has its own console transport; every other logger of the module shares one singleton transport.
    for (const logger of [catchAll, logging.getLogger(names[0])]) {
      for (const transport of logger.transports) transport.stderrLevels = { ...allLevels };
    }
    for (const name of names) skipDisabledLevels(logging.getLogger(name));
  }
  for (const listener of process.listeners('unhandledRejection')) {
    if (listener.name === 'loggerUnhandledRejectionFn') process.removeListener('unhandledRejection', listener);
  }
}
tameLoggers();

/**
 * The shim's ClientIdentity parses the creator certificate (@fidm/x509) on every invocation; the parsed
 * certificate is only read, so parses are reused per PEM (bounded).
 */
function reuseCertificateParses(): void {
  const x509 = requireFromShim('@fidm/x509') as { Certificate: { fromPEM(pem: Buffer | string): unknown } };
  const parse = x509.Certificate.fromPEM.bind(x509.Certificate);
  const cache = new Map<string, unknown>();
  x509.Certificate.fromPEM = (pem: Buffer | string) => {
    const key = typeof pem === 'string' ? pem : pem.toString('latin1');
    let cert = cache.get(key);
    if (cert === undefined) {
      cert = parse(pem);
      if (cache.size >= 1000) cache.delete(cache.keys().next().value as string);
      cache.set(key, cert);
    }
    return cert;
  };
}
reuseCertificateParses();

interface ParameterDescriptor {
  schema: { type?: unknown; $ref?: unknown };
}

interface DataMarshallInstance {
  ajv: { compile(schema: object): ((data: object) => boolean) & { errors?: { message?: string }[] | null } };
  components: object;
  fromWireBuffer(buffer: Uint8Array, schema: object, loggerPrefix: string): { value: unknown; validateData: unknown };
}

/**
 * fabric-shim 2.5.8's DataMarshall.handleParameters builds four debug lines per parameter whether debug is
 * on or not (util.inspect of the argument, JSON of the whole schema set) and has ajv re-serialize the schema
 * to find the validator it already compiled. This is the same procedure — arity check, per-parameter schema,
 * fromWireBuffer, validation, the same errors — with debug lines built only when debug is on and each
 * parameter's validator kept with its descriptor. Other shim versions keep their own implementation.
 */
function cheaperParameterHandling(): void {
  if ((require('fabric-shim/package.json') as { version: string }).version !== '2.5.8') return;
  const DataMarshall = require('fabric-shim/lib/contract-spi/datamarshall.js') as { prototype: Record<string, unknown> };
  const logger = (require('fabric-shim/lib/logger.js') as { getLogger(name: string): WinstonLogger }).getLogger('contracts-spi/datamarshall.js');
  const log = (level: string, message: () => string): void => {
    if (levelEnabled(logger, level)) (logger[level] as (m: string) => void)(message());
  };
  const validators = new WeakMap<object, WeakMap<ParameterDescriptor['schema'], ReturnType<DataMarshallInstance['ajv']['compile']>>>();
  const NO_COMPONENTS = {};

  DataMarshall.prototype.handleParameters = function handleParameters(
    this: DataMarshallInstance,
    fn: { parameters?: ParameterDescriptor[] },
    parameters: Uint8Array[],
    loggerPrefix: string,
  ): unknown[] {
    const expectedParams = fn.parameters;
    if (!expectedParams) return parameters.map((e) => e.toString());
    if (expectedParams.length !== parameters.length) {
      const errMsg = `Expected ${expectedParams.length} parameters, but ${parameters.length} have been supplied`;
      (logger.error as (message: string) => void)(`${loggerPrefix} ${errMsg}`);
      throw new Error(errMsg);
    }
    const components = (this.components as object | undefined) ?? NO_COMPONENTS;
    let perSchema = validators.get(components);
    if (!perSchema) {
      perSchema = new WeakMap();
      validators.set(components, perSchema);
    }
    const returnParams: unknown[] = [];
    for (let i = 0; i < expectedParams.length; i++) {
      const supplied = parameters[i];
      const expected = expectedParams[i];
      log('debug', () => `${loggerPrefix} Expected parameter ${JSON.stringify(expected)}`);
      log('debug', () => `${loggerPrefix} Supplied parameter ${inspect(supplied)}`);
      const schema = { properties: { prop: expected.schema }, components: { schemas: this.components } };
      if (!expected.schema.type && !expected.schema.$ref) throw new Error(`Incorrect type information ${JSON.stringify(expected.schema)}`);
      let validator = perSchema.get(expected.schema);
      if (!validator) {
        validator = this.ajv.compile(schema);
        perSchema.set(expected.schema, validator);
      }
      const { value, validateData } = this.fromWireBuffer(supplied, schema, loggerPrefix);
      log('debug', () => JSON.stringify(validateData));
      log('debug', () => JSON.stringify(schema));
      if (!validator({ prop: validateData })) {
        const errors = JSON.stringify((validator.errors ?? []).map((err) => err.message));
        log('debug', () => `${loggerPrefix} ${errors}`);
        throw new Error(`Unable to validate parameter due to ${errors}`);
      }
      returnParams.push(value);
    }
    log('debug', () => `${loggerPrefix} Processed params ${returnParams.join(',')}`);
    return returnParams;
  };
}
cheaperParameterHandling();
