// airlock's library API: the same operations the CLI runs, importable from TypeScript.
//
//   import { loadSigner, signBlob } from 'airlock';
//   const signer = await loadSigner('cosign.key', { env: process.env, password: async () => pw, warn: console.warn });
//   try {
//     const { bundle } = await signBlob({ path: 'app.tar' }, { signer });   // offline: no witnesses
//     await writeFile('app.tar.sigstore.json', JSON.stringify(bundle));
//   } finally {
//     await signer.close();
//   }
export { type Digest, digestBytes, digestFile, formatDigest, parseDigest } from './crypto/digest.ts';
export { generatePrivateKey, type KeyAlgorithm, writeKeyPair } from './crypto/generate-key.ts';
export { type KeyContext, type KeyRef, loadPublicKey, loadSigner, parseKeyRef } from './crypto/key-ref.ts';
export { keyFingerprint, keyHint, publicKeyPem } from './crypto/keys.ts';
export type { Signer, SigningAlgorithm } from './crypto/signer.ts';
export { AirlockError, ERROR_CODES, type ErrorCode, EXIT } from './errors.ts';
export { resolvePredicateType } from './sigstore/in-toto.ts';
export {
  type AttestOptions,
  attestBlob,
  type BlobInput,
  type SignedBlob,
  type SignOptions,
  signBlob,
} from './sigstore/sign-blob.ts';
export { type LoadedTrustedRoot, loadTrustedRootFile, parseTrustedRoot } from './sigstore/trusted-root.ts';
export { requestTimestamp } from './sigstore/tsa.ts';
export type { VerificationReport } from './sigstore/verify/report.ts';
export {
  type ArtifactInput,
  type BundleInput,
  type TrustPolicy,
  type VerifyBlobOptions,
  verifyBlob,
} from './sigstore/verify/verify-blob.ts';
export type { WitnessPolicy } from './sigstore/verify/witness-quorum.ts';
export { PUBLIC_GOOD_REKOR_URL, type WitnessOptions } from './sigstore/witnesses.ts';
export { AuditLog, type AuditVerification, verifyAuditLog } from './audit/audit-log.ts';
export type { AuditEvent, AuditRecord } from './audit/event.ts';
export { encodeCosignerKey, parseCosignerKey, verifyWitnessQuorum } from './log/cosignature.ts';
export { checkExtends } from './log/consistency.ts';
export { LogEngine, type LogEngineOptions } from './log/engine.ts';
export { SqliteLogStorage } from './log/sqlite-storage.ts';
