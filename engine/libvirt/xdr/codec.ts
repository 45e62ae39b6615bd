import { XdrReader } from './reader';
import { XDR_PRIMITIVES, type XdrField, type XdrSchema } from './schema';
import { XdrWriter } from './writer';
import { XdrError } from './xdr-error';

const utf8 = new TextDecoder('utf-8', { fatal: false });

/**
 * Encodes and decodes values by XDR type, the types given as data (`schemas`: name -> type).
 * Values: int/uint/enum/double as number, hyper as bigint, bool as boolean, string as string,
 * opaque as bytes, arrays as arrays, optional as value or null, structs and unions as objects.
 */
export class XdrCodec<Types extends object> {
  constructor(private readonly schemas: Readonly<Record<string, XdrSchema>>) {}

  encode<Name extends keyof Types & string>(name: Name, value: Types[Name]): Buffer {
    const writer = new XdrWriter();
    this.write(writer, name, value);
    return writer.result();
  }

  decode<Name extends keyof Types & string>(name: Name, data: Buffer): Types[Name] {
    const reader = new XdrReader(data);
    const value = this.read(reader, name);
    if (reader.remaining !== 0) throw new XdrError(`${name}: ${reader.remaining} bytes left over after decoding`);
    return value;
  }

  write<Name extends keyof Types & string>(writer: XdrWriter, name: Name, value: Types[Name]): void {
    this.writeSchema(writer, name, value, name);
  }

  read<Name extends keyof Types & string>(reader: XdrReader, name: Name): Types[Name] {
    return this.readSchema(reader, name, name) as Types[Name];
  }

  private resolve(name: string, path: string): XdrSchema {
    const schema = this.schemas[name];
    if (schema === undefined) throw new XdrError(`${path}: unknown XDR type '${name}'`);
    return schema;
  }

  private writeSchema(writer: XdrWriter, schema: XdrSchema, value: unknown, path: string): void {
    if (typeof schema === 'string') {
      if (!XDR_PRIMITIVES.has(schema)) return this.writeSchema(writer, this.resolve(schema, path), value, path);
      return writePrimitive(writer, schema, value, path);
    }
    if ('string' in schema) {
      if (typeof value !== 'string') throw new XdrError(`${path}: expected a string, got ${typeof value}`);
      const bytes = Buffer.from(value, 'utf8');
      if (bytes.length > schema.string) throw new XdrError(`${path}: string of ${bytes.length} bytes exceeds ${schema.string}`);
      writer.uint(bytes.length);
      return writer.bytes(bytes);
    }
    if ('opaque' in schema) {
      if (!(value instanceof Uint8Array)) throw new XdrError(`${path}: expected bytes`);
      if (schema.fixed) {
        if (value.length !== schema.opaque) throw new XdrError(`${path}: expected exactly ${schema.opaque} bytes, got ${value.length}`);
      } else {
        if (value.length > schema.opaque) throw new XdrError(`${path}: ${value.length} bytes exceed ${schema.opaque}`);
        writer.uint(value.length);
      }
      return writer.bytes(value);
    }
    if ('array' in schema) {
      if (!Array.isArray(value)) throw new XdrError(`${path}: expected an array`);
      if (schema.fixed ? value.length !== schema.max : value.length > schema.max) {
        throw new XdrError(`${path}: ${value.length} elements where ${schema.fixed ? 'exactly' : 'at most'} ${schema.max} fit`);
      }
      if (!schema.fixed) writer.uint(value.length);
      value.forEach((element, index) => this.writeSchema(writer, schema.array, element, `${path}[${index}]`));
      return;
    }
    if ('optional' in schema) {
      if (value === null || value === undefined) return writer.uint(0);
      writer.uint(1);
      return this.writeSchema(writer, schema.optional, value, path);
    }
    if ('enum' in schema) {
      if (typeof value !== 'number' || !schema.enum.includes(value)) throw new XdrError(`${path}: ${String(value)} is not one of the enum's values`);
      return writer.int(value);
    }
    const record = asRecord(value, path);
    if ('struct' in schema) {
      for (const [field, fieldSchema] of schema.struct) this.writeSchema(writer, fieldSchema, record[field], `${path}.${field}`);
      return;
    }
    const [discName, discSchema] = schema.union;
    const discriminant = record[discName];
    this.writeSchema(writer, discSchema, discriminant, `${path}.${discName}`);
    const arm = unionArm(schema, discriminant, path);
    if (arm) this.writeSchema(writer, arm[1], record[arm[0]], `${path}.${arm[0]}`);
  }

  private readSchema(reader: XdrReader, schema: XdrSchema, path: string): unknown {
    if (typeof schema === 'string') {
      if (!XDR_PRIMITIVES.has(schema)) return this.readSchema(reader, this.resolve(schema, path), path);
      return readPrimitive(reader, schema);
    }
    if ('string' in schema) {
      const length = reader.uint();
      if (length > schema.string) throw new XdrError(`${path}: string of ${length} bytes exceeds ${schema.string}`);
      return utf8.decode(reader.bytes(length));
    }
    if ('opaque' in schema) {
      const length = schema.fixed ? schema.opaque : reader.uint();
      if (length > schema.opaque) throw new XdrError(`${path}: ${length} bytes exceed ${schema.opaque}`);
      return reader.bytes(length);
    }
    if ('array' in schema) {
      const length = schema.fixed ? schema.max : reader.uint();
      if (length > schema.max) throw new XdrError(`${path}: ${length} elements exceed ${schema.max}`);
      // Every element takes at least 4 bytes: a bogus length fails here, before a huge allocation.
      if (length * 4 > reader.remaining) throw new XdrError(`${path}: ${length} elements cannot fit in the ${reader.remaining} bytes left`);
      const result: unknown[] = [];
      for (let index = 0; index < length; index++) result.push(this.readSchema(reader, schema.array, `${path}[${index}]`));
      return result;
    }
    if ('optional' in schema) {
      const present = reader.uint();
      if (present > 1) throw new XdrError(`${path}: optional marker ${present} is neither 0 nor 1`);
      return present === 1 ? this.readSchema(reader, schema.optional, path) : null;
    }
    if ('enum' in schema) {
      return reader.int();
    }
    const result: Record<string, unknown> = {};
    if ('struct' in schema) {
      for (const [field, fieldSchema] of schema.struct) result[field] = this.readSchema(reader, fieldSchema, `${path}.${field}`);
      return result;
    }
    const [discName, discSchema] = schema.union;
    const discriminant = this.readSchema(reader, discSchema, `${path}.${discName}`);
    result[discName] = discriminant;
    const arm = unionArm(schema, discriminant, path);
    if (arm) result[arm[0]] = this.readSchema(reader, arm[1], `${path}.${arm[0]}`);
    return result;
  }
}

function unionArm(schema: Extract<XdrSchema, { union: XdrField }>, discriminant: unknown, path: string): XdrField | null {
  const arm = schema.arms.find(([cases]) => cases.includes(discriminant as number));
  if (arm) return arm[1];
  if (schema.default !== undefined) return schema.default;
  throw new XdrError(`${path}: no union arm for ${schema.union[0]} = ${String(discriminant)}`);
}

function asRecord(value: unknown, path: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null) throw new XdrError(`${path}: expected an object`);
  return value as Record<string, unknown>;
}

function writePrimitive(writer: XdrWriter, kind: string, value: unknown, path: string): void {
  switch (kind) {
    case 'void': return;
    case 'bool': {
      if (typeof value !== 'boolean') throw new XdrError(`${path}: expected a boolean`);
      return writer.int(value ? 1 : 0);
    }
    case 'hyper': case 'uhyper': {
      const big = typeof value === 'number' && Number.isInteger(value) ? BigInt(value) : value;
      if (typeof big !== 'bigint') throw new XdrError(`${path}: expected an integer`);
      const fits = kind === 'hyper' ? big >= -(1n << 63n) && big < (1n << 63n) : big >= 0n && big < (1n << 64n);
      if (!fits) throw new XdrError(`${path}: ${big} does not fit a${kind === 'hyper' ? ' signed' : 'n unsigned'} 64-bit integer`);
      return kind === 'hyper' ? writer.hyper(big) : writer.uhyper(big);
    }
    default: {
      if (typeof value !== 'number') throw new XdrError(`${path}: expected a number, got ${typeof value}`);
      if (kind === 'double') return writer.double(value);
      if (kind === 'float') return writer.float(value);
      const fits = Number.isInteger(value) && (kind === 'int' ? value >= -0x80000000 && value <= 0x7fffffff : value >= 0 && value <= 0xffffffff);
      if (!fits) throw new XdrError(`${path}: ${value} does not fit a${kind === 'int' ? ' signed' : 'n unsigned'} 32-bit integer`);
      return kind === 'int' ? writer.int(value) : writer.uint(value);
    }
  }
}

function readPrimitive(reader: XdrReader, kind: string): unknown {
  switch (kind) {
    case 'void': return undefined;
    case 'bool': return reader.int() !== 0;
    case 'hyper': return reader.hyper();
    case 'uhyper': return reader.uhyper();
    case 'double': return reader.double();
    case 'float': return reader.float();
    case 'int': return reader.int();
    default: return reader.uint();
  }
}
