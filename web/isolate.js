// Shared memory needs a cross-origin isolated page. `linuxwasm serve` sends
// the headers for it; a static host that sends none (python -m http.server,
// GitHub Pages) gets them from our service worker (sw.js), which adds them
// to every same-origin response. The worker controls the page only after a
// reload: reload once, and never again in this tab if that did not help.

const RELOAD_KEY = 'linuxwasm-isolation-reload';
const READY_TIMEOUT_MS = 5000;

/**
 * Make the page cross-origin isolated if it can be.
 * @returns {Promise<boolean>} false if the page is reloading
 */
export async function becomeIsolated() {
  if (globalThis.crossOriginIsolated) {
    sessionStorage.removeItem(RELOAD_KEY);
    return true;
  }
  // No way to isolate (or tried already): the page explains what is missing.
  if (!('serviceWorker' in navigator) || !globalThis.isSecureContext) return true;
  if (sessionStorage.getItem(RELOAD_KEY)) return true;
  // A browser may refuse service workers (a policy, a private window):
  // registering then fails, or the worker never becomes ready.
  const ready = navigator.serviceWorker.register('sw.js').then(() => navigator.serviceWorker.ready);
  const refused = new Promise((resolve) => setTimeout(resolve, READY_TIMEOUT_MS, null));
  if (!(await Promise.race([ready, refused]).catch(() => null))) return true;
  sessionStorage.setItem(RELOAD_KEY, String(Date.now()));
  location.reload();
  return false;
}
