// greeter: provides the `greeter` service. Its count of greetings is handed from each version
// to the next, so a reload keeps it.
import type { ModuleContext } from 'cheshire/sdk';

export interface Greeter {
  greet(name: string): string;
  count(): number;
}

export function makeGreeter(greeting: string, state: { served: number }): Greeter {
  return {
    greet: (name) => {
      state.served++;
      return `${greeting}, ${name}!`;
    },
    count: () => state.served,
  };
}

export function start(ctx: ModuleContext<{ greeting: string }>): Greeter {
  const state = ctx.takeOver<{ served: number }>('state') ?? { served: 0 };
  ctx.handOver('state', state, () => {});
  return makeGreeter(ctx.config.greeting, state);
}
