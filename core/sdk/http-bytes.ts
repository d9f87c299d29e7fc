// The bytes RFC 9110 §5.5 / RFC 9112 §2.2 let a recipient refuse in a request head: NUL, and CR
// or LF that are not part of a CRLF. A proxy or server that forwards or reads them leniently may
// end a line where the next hop does not, and so frame the request differently (the start of
// request smuggling); the proxy and the fileserver refuse such heads with 400.

/**
 * Whether `head` (latin1 text) holds a NUL, a bare CR or a bare LF. Three indexOf scans rather
 * than one regex with a look-behind: about a third of the cost on a typical 300-byte head.
 */
export function hasBareCrLfOrNul(head: string): boolean {
  if (head.indexOf('\0') >= 0) return true;
  let crlf = 0;
  for (let i = head.indexOf('\r'); i >= 0; i = head.indexOf('\r', i + 1)) {
    if (head.charCodeAt(i + 1) !== 10) return true;
    crlf++;
  }
  let lf = 0;
  for (let i = head.indexOf('\n'); i >= 0; i = head.indexOf('\n', i + 1)) lf++;
  return lf !== crlf; // every LF that is not one of the CRLFs is bare
}
