/** Key combinations a guest needs that the host would take for itself, as QEMU qcodes (vms.sendKeys). */
export interface KeyCombo {
  id: string;
  label: string;
  keys: string[];
}

export const KEY_COMBOS: KeyCombo[] = [
  { id: 'ctrl-alt-delete', label: 'Ctrl+Alt+Del', keys: ['ctrl', 'alt', 'delete'] },
  { id: 'ctrl-alt-backspace', label: 'Ctrl+Alt+Backspace', keys: ['ctrl', 'alt', 'backspace'] },
  ...Array.from({ length: 12 }, (_, i) => ({ id: `ctrl-alt-f${i + 1}`, label: `Ctrl+Alt+F${i + 1}`, keys: ['ctrl', 'alt', `f${i + 1}`] })),
  { id: 'print', label: 'PrintScreen', keys: ['print'] },
  { id: 'alt-sysrq', label: 'Alt+SysRq', keys: ['alt', 'sysrq'] },
];

const ALIASES: Record<string, string> = {
  control: 'ctrl',
  del: 'delete',
  escape: 'esc',
  enter: 'ret',
  return: 'ret',
  space: 'spc',
  prtsc: 'print',
  printscreen: 'print',
  super: 'meta_l',
  win: 'meta_l',
  meta: 'meta_l',
  windows: 'meta_l',
  pgup: 'pgup',
  pageup: 'pgup',
  pagedown: 'pgdn',
  pgdown: 'pgdn',
  ins: 'insert',
};

/**
 * A combination typed by a person ("ctrl+alt+f2", "Ctrl-Alt-Del", "shift+a") as qcodes; undefined
 * when it is empty or a part is not a plausible qcode.
 */
export function parseKeyCombo(text: string): string[] | undefined {
  const parts = text
    .trim()
    .toLowerCase()
    .split(/\s*[+-]\s*|\s+/)
    .filter(Boolean)
    .map((part) => ALIASES[part] ?? part);
  if (parts.length === 0 || parts.length > 16 || parts.some((part) => !/^[a-z0-9_]+$/.test(part))) return undefined;
  return parts;
}

/** One key press for typing text: the keysym, the physical key (US layout) and whether Shift is held. */
export interface TypedKey {
  keysym: number;
  code: string | null;
  shift: boolean;
}

const SHIFTED_DIGITS = ')!@#$%^&*(';
const PUNCTUATION: Record<string, [string, boolean]> = {
  '-': ['Minus', false],
  _: ['Minus', true],
  '=': ['Equal', false],
  '+': ['Equal', true],
  '[': ['BracketLeft', false],
  '{': ['BracketLeft', true],
  ']': ['BracketRight', false],
  '}': ['BracketRight', true],
  '\\': ['Backslash', false],
  '|': ['Backslash', true],
  ';': ['Semicolon', false],
  ':': ['Semicolon', true],
  "'": ['Quote', false],
  '"': ['Quote', true],
  ',': ['Comma', false],
  '<': ['Comma', true],
  '.': ['Period', false],
  '>': ['Period', true],
  '/': ['Slash', false],
  '?': ['Slash', true],
  '`': ['Backquote', false],
  '~': ['Backquote', true],
  ' ': ['Space', false],
};

export const KEYSYM_SHIFT_L = 0xffe1;
const KEYSYM_RETURN = 0xff0d;
const KEYSYM_TAB = 0xff09;

/**
 * How to type one character as key presses on a US keyboard. Characters without a key there are
 * sent as their keysym alone (the guest's keymap decides); undefined for what cannot be typed.
 */
export function keyForChar(char: string): TypedKey | undefined {
  if (char === '\n' || char === '\r') return { keysym: KEYSYM_RETURN, code: 'Enter', shift: false };
  if (char === '\t') return { keysym: KEYSYM_TAB, code: 'Tab', shift: false };
  const point = char.codePointAt(0);
  if (point === undefined || point < 0x20 || point === 0x7f) return undefined;
  if (/^[a-z]$/.test(char)) return { keysym: point, code: `Key${char.toUpperCase()}`, shift: false };
  if (/^[A-Z]$/.test(char)) return { keysym: point, code: `Key${char}`, shift: true };
  if (/^[0-9]$/.test(char)) return { keysym: point, code: `Digit${char}`, shift: false };
  const shiftedDigit = SHIFTED_DIGITS.indexOf(char);
  if (shiftedDigit >= 0) return { keysym: point, code: `Digit${shiftedDigit}`, shift: true };
  const punctuation = PUNCTUATION[char];
  if (punctuation) return { keysym: point, code: punctuation[0], shift: punctuation[1] };
  // Latin-1 keysyms equal their code points; the rest of Unicode is 0x01000000 + code point.
  return { keysym: point <= 0xff ? point : 0x01000000 + point, code: null, shift: false };
}

/** The longest text pasted as keystrokes at once: typing is slow, and a mistake is long to undo. */
export const MAX_PASTE_CHARS = 4096;
