import { describe, expect, it } from 'vitest';
import { childrenNamed, childText, parseXml, XmlSyntaxError } from '../../../engine/storage/iso/xml';

describe('parseXml', () => {
  it('reads elements, attributes, entities, comments and CDATA', () => {
    const root = parseXml(`<?xml version="1.0"?>
<!DOCTYPE libosinfo>
<libosinfo version="0.0.1">
  <!-- a comment with <tags> -->
  <os id="http://example.org/os/1">
    <name>Example &amp; Co &#x41A;&#65;</name>
    <name xml:lang="de">Beispiel</name>
    <media arch='x86_64'><iso><volume-id>^EX\\d+ &lt;x&gt;$</volume-id></iso></media>
    <empty/>
    <cdata><![CDATA[a < b]]></cdata>
  </os>
</libosinfo>`);
    expect(root.name).toBe('libosinfo');
    expect(root.attributes.version).toBe('0.0.1');
    const [os] = childrenNamed(root, 'os');
    expect(os?.attributes.id).toBe('http://example.org/os/1');
    expect(childText(os!, 'name')).toBe('Example & Co \u041aA');
    const media = childrenNamed(os!, 'media')[0]!;
    expect(media.attributes.arch).toBe('x86_64');
    expect(childText(childrenNamed(media, 'iso')[0]!, 'volume-id')).toBe('^EX\\d+ <x>$');
    expect(childText(os!, 'empty')).toBe('');
    expect(childText(os!, 'cdata')).toBe('a < b');
  });

  it.each([
    ['<a><b></a>', /does not close/],
    ['<a>', /never closed/],
    ['<a x="1" x="2"/>', /repeated/],
    ['<a>&bogus;</a>', /unknown entity/],
    ['<a/><b/>', /second root/],
    ['', /no root/],
    ['<a><!-- unterminated </a>', /missing "-->"/],
  ])('refuses malformed input %j', (source, why) => {
    expect(() => parseXml(source)).toThrow(XmlSyntaxError);
    expect(() => parseXml(source)).toThrow(why);
  });
});
