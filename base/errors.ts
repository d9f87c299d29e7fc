// The error base every floor shares (after fastify's FST_ERR_*): an error the code raises on
// purpose is a CheshireError with a stable CHS_ERR_* `code`. Each floor (host, 9P, a module)
// declares its own codes with defineErrors(); every declared code lands in one registry that
// test/errors.test.ts checks against docs/errors.md, so a code is never invented in passing.

export class CheshireError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(`${code}: ${message}`, options);
    this.code = code;
    this.name = 'CheshireError';
  }
}

const CODE = /^CHS_ERR_[A-Z0-9_]+$/;
const registry = new Map<string, string>();

/** Makes the `CHS_ERR_*` error constructor of one floor, registering each code with its meaning. */
export function defineErrors<const T extends Record<string, string>>(codes: T): (code: keyof T & string, message: string, cause?: unknown) => CheshireError {
  for (const [code, meaning] of Object.entries(codes)) {
    if (!CODE.test(code)) throw new TypeError(`error code "${code}" is not CHS_ERR_ upper snake case`);
    const known = registry.get(code);
    if (known !== undefined && known !== meaning) throw new TypeError(`error code ${code} is declared twice with different meanings`);
    registry.set(code, meaning);
  }
  return (code, message, cause) => new CheshireError(code, message, cause === undefined ? undefined : { cause });
}

/** Every code declared so far in this process, with its one-line meaning. */
export function registeredErrorCodes(): ReadonlyMap<string, string> {
  return registry;
}

export function errorText(err: unknown): string {
  if (err instanceof Error) return err.stack ?? err.message;
  return String(err);
}
