// The fileserver module's error codes, declared into Cheshire's one registry (documented in docs/errors.md).
import { defineErrors } from 'cheshire/sdk';

export const FILESERVER_ERROR_CODES = {
  CHS_ERR_FILESERVER_ASSETS: 'the fileserver could not read its assets directory, or it exceeds assetsMaxBytes',
  CHS_ERR_FILESERVER_VERSION: 'a fileserver version manifest names a bad version or path, or an object the store lacks',
  CHS_ERR_FILESERVER_VHOST: 'a fileserver virtual host edit names a bad host or key, or an object the store lacks',
  CHS_ERR_FILESERVER_NAME: 'a name given to the fileserver store is not a clean relative path',
  CHS_ERR_FILESERVER_BAD_REQUEST: 'the fileserver refused a malformed request head: NUL, a bare CR or LF, no HTTP version, a duplicate Host (answered 400, connection closed)',
  CHS_ERR_FILESERVER_HEAD_TIMEOUT: 'a client did not complete a request head within the fileserver\'s headTimeoutMs (answered 408, connection closed)',
  CHS_ERR_FILESERVER_BODY_TIMEOUT: 'an upload\'s body made no progress for the fileserver\'s bodyTimeoutMs: its temp file was removed (answered 408, connection closed)',
  CHS_ERR_FILESERVER_REFUSED: 'the fileserver refused a connection: too many from its address (429) or in all (503), answered with Connection: close',
} as const;

export type FileserverErrorCode = keyof typeof FILESERVER_ERROR_CODES;

export const fileserverError = defineErrors(FILESERVER_ERROR_CODES);
