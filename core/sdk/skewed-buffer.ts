// Big buffers whose bytes go to sockets start 2 KiB into their allocation.
//
// A large allocation is its own mmap, so its first byte sits 16 bytes into a page (glibc's chunk
// header). The kernel copies a socket write's payload into fresh buffer pages just after the
// reply's header, so source and destination then sit at almost the same offset within their
// pages, and the CPU's copy stalls on 4 KiB aliasing (a load looks as if it depended on a store
// to an address with the same low 12 bits). Measured with diodload's read/write pairs on one
// connection (bench/9p.md, third round): a reply copied from offset 0 or 1 of a page ran at
// ~0.75x of diod, from offset 64 or 2048 at ~1x; the same held for the export's read-ahead
// blocks. A heap allocation lands anywhere and is rarely hit; an mmap'd one always was.

/** Where in its allocation a skewed buffer starts. */
export const SKEW = 2048;

/** `size` bytes (contents undefined) starting SKEW bytes into an allocation of their own. */
export function skewedBuffer(size: number): Buffer {
  return Buffer.allocUnsafeSlow(size + SKEW).subarray(SKEW);
}
