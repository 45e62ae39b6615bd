/** A value that does not fit its XDR type, or bytes that are not a valid encoding of it. */
export class XdrError extends Error {
  override readonly name = 'XdrError';
}
