/**
 * A small, strict XML reader for osinfo-db's files: elements, attributes, text, entities,
 * comments, CDATA, processing instructions and a DOCTYPE without an internal subset.
 * No namespaces resolution (prefixed names are kept as written, e.g. `xml:lang`).
 */
export interface XmlElement {
  name: string;
  attributes: Record<string, string>;
  children: XmlElement[];
  /** Text directly inside this element (not its children), entities decoded, not trimmed. */
  text: string;
}

export class XmlSyntaxError extends Error {}

const NAMED_ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function decodeEntities(text: string, where: () => string): string {
  return text.replace(/&([^;&\s]*);?/g, (whole, body: string) => {
    if (!whole.endsWith(';')) throw new XmlSyntaxError(`unterminated entity "${whole}" ${where()}`);
    if (body.startsWith('#x') || body.startsWith('#X')) return String.fromCodePoint(Number.parseInt(body.slice(2), 16));
    if (body.startsWith('#')) return String.fromCodePoint(Number.parseInt(body.slice(1), 10));
    const named = NAMED_ENTITIES[body];
    if (named === undefined) throw new XmlSyntaxError(`unknown entity "&${body};" ${where()}`);
    return named;
  });
}

const NAME = /[A-Za-z_:][-A-Za-z0-9_:.]*/y;
const ATTRIBUTE = /\s+([A-Za-z_:][-A-Za-z0-9_:.]*)\s*=\s*("[^"<]*"|'[^'<]*')/y;

export function parseXml(source: string): XmlElement {
  let pos = 0;
  const where = () => {
    const line = source.slice(0, pos).split('\n').length;
    return `at line ${line}`;
  };
  const fail = (why: string): never => {
    throw new XmlSyntaxError(`${why} ${where()}`);
  };
  const skipUntil = (end: string) => {
    const index = source.indexOf(end, pos);
    if (index < 0) fail(`missing "${end}"`);
    const content = source.slice(pos, index);
    pos = index + end.length;
    return content;
  };

  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  while (pos < source.length) {
    const lt = source.indexOf('<', pos);
    const textEnd = lt < 0 ? source.length : lt;
    if (textEnd > pos) {
      const text = source.slice(pos, textEnd);
      const top = stack.at(-1);
      if (top) top.text += decodeEntities(text, where);
      else if (text.trim() !== '') fail('text outside the root element');
      pos = textEnd;
      continue;
    }
    if (source.startsWith('<!--', pos)) {
      pos += 4;
      skipUntil('-->');
    } else if (source.startsWith('<![CDATA[', pos)) {
      pos += 9;
      const data = skipUntil(']]>');
      const top = stack.at(-1);
      if (!top) fail('CDATA outside the root element');
      else top.text += data;
    } else if (source.startsWith('<?', pos)) {
      pos += 2;
      skipUntil('?>');
    } else if (source.startsWith('<!DOCTYPE', pos)) {
      pos += 9;
      const content = skipUntil('>');
      if (content.includes('[')) fail('DOCTYPE internal subsets are not supported');
    } else if (source.startsWith('</', pos)) {
      pos += 2;
      NAME.lastIndex = pos;
      const match = NAME.exec(source);
      if (!match) fail('bad closing tag');
      const name = match?.[0] ?? '';
      pos = NAME.lastIndex;
      while (/\s/.test(source[pos] ?? '')) pos++;
      if (source[pos] !== '>') fail(`bad closing tag </${name}`);
      pos++;
      const open = stack.pop();
      if (!open || open.name !== name) fail(`</${name}> does not close <${open?.name ?? '(nothing)'}>`);
    } else {
      pos += 1;
      NAME.lastIndex = pos;
      const match = NAME.exec(source);
      if (!match) fail('bad tag');
      const element: XmlElement = { name: match?.[0] ?? '', attributes: {}, children: [], text: '' };
      pos = NAME.lastIndex;
      for (;;) {
        ATTRIBUTE.lastIndex = pos;
        const attr = ATTRIBUTE.exec(source);
        if (!attr) break;
        const [, key = '', quoted = ''] = attr;
        if (key in element.attributes) fail(`attribute "${key}" repeated`);
        element.attributes[key] = decodeEntities(quoted.slice(1, -1), where);
        pos = ATTRIBUTE.lastIndex;
      }
      while (/\s/.test(source[pos] ?? '')) pos++;
      const parent = stack.at(-1);
      if (parent) parent.children.push(element);
      else if (root) fail('a second root element');
      else root = element;
      if (source.startsWith('/>', pos)) {
        pos += 2;
      } else if (source[pos] === '>') {
        pos += 1;
        stack.push(element);
      } else {
        fail(`bad tag <${element.name}`);
      }
    }
  }
  if (stack.length > 0) fail(`<${stack.at(-1)?.name}> is never closed`);
  if (!root) fail('no root element');
  return root as XmlElement;
}

/** Direct children named `name`. */
export function childrenNamed(element: XmlElement, name: string): XmlElement[] {
  return element.children.filter((child) => child.name === name);
}

/** The trimmed text of the first direct child named `name` that has no xml:lang (the untranslated one). */
export function childText(element: XmlElement, name: string): string | undefined {
  const child = element.children.find((c) => c.name === name && c.attributes['xml:lang'] === undefined);
  return child?.text.trim();
}
