// Error messages start with a fixed prefix so clients can tell the kind of failure from the
// EndorseError details alone (the gateway passes the chaincode message through verbatim).

export function invalid(message: string): Error {
  return new Error(`Invalid argument: ${message}`);
}

export function denied(message: string): Error {
  return new Error(`Permission denied: ${message}`);
}

export function notFound(message: string): Error {
  return new Error(`Not found: ${message}`);
}
