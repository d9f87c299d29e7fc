// Who is on the other end of a socket: its address in one spelling, and whether it is this machine
// (the operator, by default). Shared by the 9P server's admission (fs/server/admission.ts) and the
// HTTP modules' connection caps (core/sdk/http-guard.ts).

/** "::ffff:1.2.3.4" → "1.2.3.4"; undefined → "?". */
export function normalizeAddress(addr: string | undefined): string {
  if (!addr) return '?';
  return addr.startsWith('::ffff:') && addr.includes('.') ? addr.slice(7) : addr;
}

/** 127.0.0.0/8 and ::1 (addresses normalised by normalizeAddress). */
export function isLoopback(addr: string): boolean {
  return addr === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(addr);
}
