declare module '*/@novnc/novnc/core/crypto/des.js' {
  export class DESECBCipher {
    static importKey(key: number[], algorithm: { name: 'DES-ECB' }, extractable: boolean, usages: string[]): DESECBCipher;
    encrypt(algorithm: { name: 'DES-ECB' }, plaintext: Uint8Array): Uint8Array | null;
  }
}
