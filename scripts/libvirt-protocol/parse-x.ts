// A parser for the XDR language (RFC 4506) as libvirt's .x protocol files use it: constants,
// enums, typedefs, structs and discriminated unions, with rpcgen's extensions (`unsigned` alone,
// `hyper`, `%` pass-through lines).

export type XType =
  | { kind: 'int' | 'uint' | 'hyper' | 'uhyper' | 'double' | 'float' | 'bool' | 'void' }
  | { kind: 'ref'; name: string }
  | { kind: 'string'; max: number }
  | { kind: 'opaque'; size: number; fixed: boolean }
  | { kind: 'array'; of: XType; size: number; fixed: boolean }
  | { kind: 'optional'; of: XType };

export interface XField { name: string; type: XType }
export interface XUnionArm { cases: number[]; field: XField | null }

export type XDefinition =
  | { kind: 'enum'; name: string; values: [string, number][] }
  | { kind: 'struct'; name: string; fields: XField[] }
  | { kind: 'union'; name: string; discriminant: XField; arms: XUnionArm[]; defaultArm?: XField | null }
  | { kind: 'typedef'; name: string; type: XType };

export interface XProtocol {
  constants: Map<string, number>;
  definitions: XDefinition[];
}

const UNBOUNDED = 0xffffffff;

function tokenize(source: string): string[] {
  const text = source
    .replace(/\/\*[\s\S]*?\*\//g, ' ')
    .replace(/\/\/.*$/gm, ' ')
    .replace(/^%.*$/gm, ' ');
  return text.match(/0x[0-9a-fA-F]+|-?\d+|[A-Za-z_][A-Za-z0-9_]*|[{}()[\]<>;,=:*]/g) ?? [];
}

/** Parses .x sources in order; `external` gives the values of C constants the files use but do not define. */
export function parseXdr(sources: string[], external: Record<string, number>): XProtocol {
  const constants = new Map<string, number>(Object.entries(external));
  const definitions: XDefinition[] = [];
  for (const source of sources) parseOne(tokenize(source), constants, definitions);
  return { constants, definitions };
}

function parseOne(tokens: string[], constants: Map<string, number>, definitions: XDefinition[]): void {
  let at = 0;
  const peek = (): string | undefined => tokens[at];
  const next = (): string => {
    const token = tokens[at++];
    if (token === undefined) throw new Error('unexpected end of .x input');
    return token;
  };
  const expect = (wanted: string): void => {
    const token = next();
    if (token !== wanted) throw new Error(`expected '${wanted}' but found '${token}' near token ${at}: ${tokens.slice(Math.max(0, at - 8), at + 4).join(' ')}`);
  };
  const value = (): number => {
    const token = next();
    if (/^-?\d+$/.test(token)) return Number(token);
    if (/^0x/.test(token)) return Number.parseInt(token, 16);
    const known = constants.get(token);
    if (known === undefined) throw new Error(`unknown constant '${token}'`);
    return known;
  };
  const baseType = (): XType => {
    const token = next();
    if (token === 'unsigned') {
      const following = peek();
      if (following === 'int' || following === 'long' || following === 'short' || following === 'char') { next(); return { kind: 'uint' }; }
      if (following === 'hyper') { next(); return { kind: 'uhyper' }; }
      return { kind: 'uint' };
    }
    if (token === 'int' || token === 'long' || token === 'short' || token === 'char') return { kind: 'int' };
    if (token === 'hyper') return { kind: 'hyper' };
    if (token === 'double' || token === 'float' || token === 'bool' || token === 'void') return { kind: token };
    if (token === 'struct' || token === 'enum' || token === 'union') return { kind: 'ref', name: next() };
    return { kind: 'ref', name: token };
  };
  // declaration: type-specifier name, with [n], <n>, <> or a leading * ; `void` alone.
  const declaration = (): XField | null => {
    if (peek() === 'void') { next(); return null; }
    const first = peek();
    if (first === 'opaque' || first === 'string') {
      next();
      const name = next();
      const open = next();
      if (open === '[') { const size = value(); expect(']'); return { name, type: { kind: 'opaque', size, fixed: true } }; }
      if (open !== '<') throw new Error(`'${first} ${name}' needs [n] or <n>`);
      const size = peek() === '>' ? UNBOUNDED : value();
      expect('>');
      return { name, type: first === 'string' ? { kind: 'string', max: size } : { kind: 'opaque', size, fixed: false } };
    }
    const type = baseType();
    if (peek() === '*') { next(); return { name: next(), type: { kind: 'optional', of: type } }; }
    const name = next();
    if (peek() === '[') { next(); const size = value(); expect(']'); return { name, type: { kind: 'array', of: type, size, fixed: true } }; }
    if (peek() === '<') {
      next();
      const size = peek() === '>' ? UNBOUNDED : value();
      expect('>');
      return { name, type: { kind: 'array', of: type, size, fixed: false } };
    }
    return { name, type };
  };

  while (at < tokens.length) {
    const keyword = next();
    if (keyword === 'const') {
      const name = next(); expect('='); constants.set(name, value()); expect(';');
    } else if (keyword === 'enum') {
      const name = next(); expect('{');
      const values: [string, number][] = [];
      while (peek() !== '}') {
        const member = next(); expect('=');
        const memberValue = value();
        constants.set(member, memberValue);
        values.push([member, memberValue]);
        if (peek() === ',') next();
      }
      expect('}'); expect(';');
      definitions.push({ kind: 'enum', name, values });
    } else if (keyword === 'struct') {
      const name = next(); expect('{');
      const fields: XField[] = [];
      while (peek() !== '}') {
        const field = declaration();
        expect(';');
        if (field) fields.push(field);
      }
      expect('}'); expect(';');
      definitions.push({ kind: 'struct', name, fields });
    } else if (keyword === 'union') {
      const name = next(); expect('switch'); expect('(');
      const discriminant = declaration();
      if (!discriminant) throw new Error(`union ${name}: a void discriminant`);
      expect(')'); expect('{');
      const arms: XUnionArm[] = [];
      let defaultArm: XField | null | undefined;
      while (peek() !== '}') {
        if (peek() === 'default') {
          next(); expect(':'); defaultArm = declaration(); expect(';');
          continue;
        }
        const cases: number[] = [];
        while (peek() === 'case') { next(); cases.push(value()); expect(':'); }
        const field = declaration();
        expect(';');
        arms.push({ cases, field });
      }
      expect('}'); expect(';');
      definitions.push(defaultArm === undefined ? { kind: 'union', name, discriminant, arms } : { kind: 'union', name, discriminant, arms, defaultArm });
    } else if (keyword === 'typedef') {
      const field = declaration();
      if (!field) throw new Error('typedef void');
      expect(';');
      definitions.push({ kind: 'typedef', name: field.name, type: field.type });
    } else if (keyword === 'program') {
      throw new Error('program definitions are not used by libvirt and not supported');
    } else {
      throw new Error(`unexpected '${keyword}' at top level`);
    }
  }
}
