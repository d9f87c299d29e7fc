// The dashboard module's error codes, declared into Cheshire's one registry (documented in docs/errors.md).
import { defineErrors } from 'cheshire/sdk';

export const DASHBOARD_ERROR_CODES = {
  CHS_ERR_DASHBOARD_TOKEN: 'the dashboard was asked to listen beyond loopback without an access token ("token", at least 16 characters); it refuses to start before listening',
  CHS_ERR_DASHBOARD_CLIENT: 'the dashboard could not bundle its page (modules/dashboard/client) with esbuild',
  CHS_ERR_DASHBOARD_REQUEST: 'a request to the dashboard\'s HTTP API is malformed, too large, or names an unknown instance, node or action',
  CHS_ERR_DASHBOARD_REMOTE: 'the dashboard could not read or steer another node through its 9P tree (unreachable, refused, or no 9P address in the seed\'s directory)',
} as const;

export const dashboardError = defineErrors(DASHBOARD_ERROR_CODES);
