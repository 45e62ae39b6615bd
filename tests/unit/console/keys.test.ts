import { describe, expect, it } from 'vitest';
import { KEY_COMBOS, keyForChar, parseKeyCombo } from '../../../renderer/src/lib/console/keys';

describe('console key combinations', () => {
  it('offers the combinations the host keeps for itself, as qcodes the API accepts', () => {
    const byLabel = Object.fromEntries(KEY_COMBOS.map((c) => [c.label, c.keys]));
    expect(byLabel['Ctrl+Alt+Del']).toEqual(['ctrl', 'alt', 'delete']);
    expect(byLabel['Ctrl+Alt+F12']).toEqual(['ctrl', 'alt', 'f12']);
    expect(byLabel.PrintScreen).toEqual(['print']);
    for (const combo of KEY_COMBOS) for (const key of combo.keys) expect(key).toMatch(/^[a-z0-9_]+$/);
  });

  it('reads combinations people type', () => {
    expect(parseKeyCombo('Ctrl+Alt+F2')).toEqual(['ctrl', 'alt', 'f2']);
    expect(parseKeyCombo('ctrl-alt-del')).toEqual(['ctrl', 'alt', 'delete']);
    expect(parseKeyCombo(' shift + Tab ')).toEqual(['shift', 'tab']);
    expect(parseKeyCombo('win+r')).toEqual(['meta_l', 'r']);
    expect(parseKeyCombo('')).toBeUndefined();
    expect(parseKeyCombo('ctrl+$')).toBeUndefined();
  });
});

describe('typing text as keys (US layout)', () => {
  it('maps letters, shifted symbols and Enter to physical keys', () => {
    expect(keyForChar('a')).toEqual({ keysym: 0x61, code: 'KeyA', shift: false });
    expect(keyForChar('P')).toEqual({ keysym: 0x50, code: 'KeyP', shift: true });
    expect(keyForChar('4')).toEqual({ keysym: 0x34, code: 'Digit4', shift: false });
    expect(keyForChar('$')).toEqual({ keysym: 0x24, code: 'Digit4', shift: true });
    expect(keyForChar('(')).toEqual({ keysym: 0x28, code: 'Digit9', shift: true });
    expect(keyForChar('_')).toEqual({ keysym: 0x5f, code: 'Minus', shift: true });
    expect(keyForChar('>')).toEqual({ keysym: 0x3e, code: 'Period', shift: true });
    expect(keyForChar('\n')).toMatchObject({ code: 'Enter' });
    expect(keyForChar(' ')).toMatchObject({ code: 'Space', shift: false });
  });

  it('sends other characters by keysym alone and skips control characters', () => {
    expect(keyForChar('é')).toEqual({ keysym: 0xe9, code: null, shift: false });
    expect(keyForChar('€')).toEqual({ keysym: 0x010020ac, code: null, shift: false });
    expect(keyForChar('\u0007')).toBeUndefined();
  });
});
