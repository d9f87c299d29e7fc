// The one Ajv instance (JSON Schema validation of descriptors, cheshire.json and module config)
// and the helper that turns its errors into a message naming the key and what was expected.
import { Ajv, type ErrorObject } from 'ajv';

export const ajv = new Ajv({ allErrors: true, useDefaults: false, strict: false });

/** `/port must be integer (got "abc"); /host must be string` */
export function describeAjvErrors(errors: ErrorObject[] | null | undefined, data?: unknown): string {
  if (!errors?.length) return 'is invalid';
  return errors
    .map((e) => {
      const where = e.instancePath || '/';
      let what = e.message ?? 'is invalid';
      if (e.keyword === 'additionalProperties') what = `has unknown key "${(e.params as { additionalProperty: string }).additionalProperty}"`;
      if (e.keyword === 'enum') what = `must be one of ${JSON.stringify((e.params as { allowedValues: unknown[] }).allowedValues)}`;
      const got = data === undefined ? undefined : pointerGet(data, e.instancePath);
      const gotText = got === undefined || e.keyword === 'required' || e.keyword === 'additionalProperties' ? '' : ` (got ${JSON.stringify(got)})`;
      return `${where} ${what}${gotText}`;
    })
    .join('; ');
}

function pointerGet(data: unknown, pointer: string): unknown {
  let cur: unknown = data;
  for (const part of pointer.split('/').slice(1)) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[part.replace(/~1/g, '/').replace(/~0/g, '~')];
  }
  return cur;
}
