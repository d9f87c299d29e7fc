// Serialises the host's lifecycle operations: one start/stop/reload/config change at a time,
// in arrival order. A failed operation does not block the next.
export class Mutex {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn);
    this.tail = result.catch(() => undefined);
    return result;
  }
}
