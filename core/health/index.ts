// Health of the node's instances: a module's optional health(ctx) export, checked on its
// descriptor's interval (monitor.ts), one bounded call at a time (check.ts).
export { HealthMonitor, type Watched } from './monitor.ts';
export { runCheck, type Check } from './check.ts';
