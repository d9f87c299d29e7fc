// Big buffers whose bytes go to sockets start 2 KiB into their allocation.
//
// What was measured (bench/9p.md, third round): diodload's read/write pairs on one connection,
// with 64 KiB replies copied from a large buffer, ran at ~0.75x of diod when the reply started
// at offset 0 or 1 of the buffer and at ~1x from offset 64 or 2048; `perf` put the difference in
// the kernel's copy into the socket (`_copy_from_iter`, ~6x longer per reply). A large
// allocation is its own mmap, so its first byte sits a few bytes into a page, and the kernel
// copies the payload to just after the reply's header at the start of fresh pages: source and
// destination at nearly the same offset within their pages, which is what 4 KiB aliasing (a
// load taken to depend on a store with the same low 12 address bits) looks like. A heap
// allocation lands anywhere and is rarely hit; an mmap'd one always was. The export's
// read-ahead blocks used ~11% less CPU per transfer once skewed.

/** Where in its allocation a skewed buffer starts. */
export const SKEW = 2048;

/** `size` bytes (contents undefined) starting SKEW bytes into an allocation of their own. */
export function skewedBuffer(size: number): Buffer {
  return Buffer.allocUnsafeSlow(size + SKEW).subarray(SKEW);
}
