import { describe, expect, it } from 'vitest';
import { runsOnWayland } from '../../../main/electron/wayland';

describe('Wayland detection', () => {
  it('follows a Wayland session unless --ozone-platform says otherwise', () => {
    expect(runsOnWayland({ XDG_SESSION_TYPE: 'wayland', WAYLAND_DISPLAY: 'wayland-0', DISPLAY: ':0' }, '')).toBe(true);
    expect(runsOnWayland({ WAYLAND_DISPLAY: 'wayland-0' }, '')).toBe(true);
    expect(runsOnWayland({ XDG_SESSION_TYPE: 'x11', DISPLAY: ':0' }, '')).toBe(false);
    expect(runsOnWayland({ XDG_SESSION_TYPE: 'wayland', WAYLAND_DISPLAY: 'wayland-0', DISPLAY: ':0' }, 'x11')).toBe(false);
    expect(runsOnWayland({ DISPLAY: ':0' }, 'wayland')).toBe(true);
  });
});
