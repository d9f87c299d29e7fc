// Every DHT wait has a deadline: wraps a callback-style library call in a promise that rejects
// with CHS_ERR_DHT_TIMEOUT (or CHS_ERR_DHT_CLOSED when the node goes away) instead of hanging.
import { dhtError } from './errors.ts';

export function withDeadline<T>(what: string, ms: number, run: (resolve: (v: T) => void, reject: (e: unknown) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let done = false;
    const timer = setTimeout(() => {
      if (done) return;
      done = true;
      reject(dhtError('CHS_ERR_DHT_TIMEOUT', `${what} did not finish in ${ms} ms`));
    }, ms);
    const finish = (fn: () => void) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      fn();
    };
    try {
      run((v) => finish(() => resolve(v)), (e) => finish(() => reject(e)));
    } catch (err) {
      finish(() => reject(err));
    }
  });
}
