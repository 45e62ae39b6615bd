/**
 * Whether Chromium shows this app's windows through Wayland, where a window can neither read nor set
 * its position (BrowserWindow.getBounds gives x = y = 0; setPosition does nothing). Electron 38 and
 * later run natively on Wayland in a Wayland session unless started with `--ozone-platform=x11`.
 * `ozonePlatform` is that switch's value (`app.commandLine.getSwitchValue('ozone-platform')`).
 */
export function runsOnWayland(env: NodeJS.ProcessEnv, ozonePlatform: string): boolean {
  if (ozonePlatform === 'x11') return false;
  if (ozonePlatform === 'wayland') return true;
  return env.XDG_SESSION_TYPE === 'wayland' || Boolean(env.WAYLAND_DISPLAY);
}
