// The small part of node-forge (pure-JS X.509) the webhook's certificates use; the package ships no
// types of its own. Keys come from node:crypto and enter forge as PEM.
declare module 'node-forge' {
  interface CertificateField {
    name?: string;
    shortName?: string;
    value: string;
  }
  interface AltName {
    type: number;
    value?: string;
    ip?: string;
  }
  interface Extension {
    name: string;
    [key: string]: unknown;
  }
  interface PublicKey {
    readonly n: unknown;
  }
  interface PrivateKey {
    readonly d: unknown;
  }
  interface Certificate {
    publicKey: PublicKey;
    serialNumber: string;
    validity: { notBefore: Date; notAfter: Date };
    setSubject(attrs: CertificateField[]): void;
    setIssuer(attrs: CertificateField[]): void;
    setExtensions(exts: (Extension | { name: string; altNames: AltName[] })[]): void;
    sign(key: PrivateKey, md: MessageDigest): void;
  }
  interface MessageDigest {
    readonly algorithm: string;
  }
  interface Forge {
    pki: {
      createCertificate(): Certificate;
      certificateToPem(cert: Certificate): string;
      privateKeyFromPem(pem: string): PrivateKey;
      publicKeyFromPem(pem: string): PublicKey;
    };
    md: { sha256: { create(): MessageDigest } };
  }
  const forge: Forge;
  export default forge;
}
