// The shape of a per-instance isolation override in cheshire.json or a role preset:
// `"isolation": { "heavy": "process", "calc": { "mode": "worker", "resourceLimits": { ... }, "stallMs": 2000 } }`.
// Imports nothing: node-config.ts reads it without loading the isolation runtime.
import type { Isolation, IsolationLimits } from '../types.ts';

/** `spares: false`: its isolates are always spawned, never taken from a warm spare (core/isolation/spares.ts). */
export type IsolationOverride = Isolation | { mode: Isolation; resourceLimits?: IsolationLimits; stallMs?: number; callMs?: number; spares?: boolean };

const mb = { type: 'number', exclusiveMinimum: 0 } as const;
const mode = { enum: ['none', 'worker', 'process'] } as const;

export const isolationOverrideSchema = {
  type: 'object',
  additionalProperties: {
    oneOf: [
      mode,
      {
        type: 'object',
        additionalProperties: false,
        required: ['mode'],
        properties: {
          mode,
          resourceLimits: {
            type: 'object',
            additionalProperties: false,
            properties: { maxOldGenerationSizeMb: mb, maxYoungGenerationSizeMb: mb, codeRangeSizeMb: mb, stackSizeMb: mb },
          },
          stallMs: { type: 'integer', minimum: 0 },
          callMs: { type: 'integer', minimum: 0 },
          spares: { type: 'boolean' },
        },
      },
    ],
  },
} as const;
