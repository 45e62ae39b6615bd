import { describe, expect, it } from 'vitest';
import { nicInputSchema } from '../../../engine/model/nic';
import { parseNetOption } from '../../../engine/network/net-option';

describe('--net', () => {
  it.each([
    ['user', { kind: 'user' }],
    ['none', null],
    ['network:default', { kind: 'network', name: 'default' }],
    ['bridge:br0', { kind: 'bridge', name: 'br0' }],
    ['link:lab', { kind: 'link', name: 'lab' }],
    ['link:lab:b', { kind: 'link', name: 'lab', role: 'b' }],
  ])('parses %j', (text, expected) => {
    const parsed = parseNetOption(text);
    expect(parsed).toEqual(expected);
    // What it returns is a NIC network the model accepts.
    if (parsed) expect(nicInputSchema.safeParse({ network: parsed }).success).toBe(true);
  });

  it.each([
    ['tap', /not a network choice/],
    ['network:', /network name "" is empty/],
    ['network:a b', /may only contain/],
    ['bridge:averyveryverylongbridge', /at most 15/],
    ['link:lab:c', /a link end is "a" or "b"/],
    ['link:lab:a:b', /a link end/],
    ['', /not a network choice/],
  ])('refuses %j', (text, message) => {
    expect(() => parseNetOption(text)).toThrow(message);
  });
});
