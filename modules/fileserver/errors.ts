// The fileserver module's error codes, declared into Cheshire's one registry (documented in docs/errors.md).
import { defineErrors } from 'cheshire/sdk';

export const FILESERVER_ERROR_CODES = {
  CHS_ERR_FILESERVER_ASSETS: 'the fileserver could not read its assets directory, or it exceeds assetsMaxBytes',
  CHS_ERR_FILESERVER_VERSION: 'a fileserver version manifest names a bad version or path, or an object the store lacks',
  CHS_ERR_FILESERVER_VHOST: 'a fileserver virtual host edit names a bad host or key, or an object the store lacks',
  CHS_ERR_FILESERVER_NAME: 'a name given to the fileserver store is not a clean relative path',
} as const;

export const fileserverError = defineErrors(FILESERVER_ERROR_CODES);
