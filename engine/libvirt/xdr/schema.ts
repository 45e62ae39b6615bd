// XDR types as data (RFC 4506), as scripts/libvirt-protocol/generate.ts writes them: a primitive
// name, the name of another type, or one of the constructed forms below.
export type XdrPrimitive = 'int' | 'uint' | 'hyper' | 'uhyper' | 'double' | 'float' | 'bool' | 'void';

/** A struct member or union arm: its name and type. */
export type XdrField = readonly [string, XdrSchema];

export type XdrSchema =
  | string
  | { readonly string: number }
  | { readonly opaque: number; readonly fixed?: true }
  | { readonly array: XdrSchema; readonly max: number; readonly fixed?: true }
  | { readonly optional: XdrSchema }
  | { readonly struct: readonly XdrField[] }
  | { readonly enum: readonly number[] }
  | { readonly union: XdrField; readonly arms: readonly (readonly [readonly number[], XdrField | null])[]; readonly default?: XdrField | null };

export const XDR_PRIMITIVES: ReadonlySet<string> = new Set<XdrPrimitive>(['int', 'uint', 'hyper', 'uhyper', 'double', 'float', 'bool', 'void']);
