/**
 * The operator's token lives in this tab's sessionStorage only: never in a URL (it would land
 * in history and server logs), gone when the tab closes.
 */
const KEY = 'eventmart.console.token';

export const session = {
  get token() {
    return sessionStorage.getItem(KEY);
  },
  set(token) {
    sessionStorage.setItem(KEY, token.trim());
  },
  clear() {
    sessionStorage.removeItem(KEY);
  },
};

/**
 * What the token says about itself (its payload, unverified): enough to leave alone what the
 * token is not allowed. The API still checks every request.
 */
export function claimsOf(token) {
  try {
    const payload = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    const claims = JSON.parse(atob(payload));
    return typeof claims === 'object' && claims !== null ? claims : null;
  } catch {
    return null;
  }
}
