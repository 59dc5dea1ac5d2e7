// Signing and attesting images the way cosign does (shared/design/notes/cosign-formats.md):
//   default (cosign v3): a Sigstore bundle v0.3 with a DSSE envelope over an in-toto Statement v1 whose
//     subject is the manifest digest (no name), stored as an OCI 1.1 referrer with cosign's exact
//     manifest layout, through the referrers API or its `sha256-<hex>` fallback;
//   --legacy-signature: also cosign's `sha256-<hex>.sig` image (simple-signing payload, one layer per
//     signature, signature annotation), which podman, CRI-O and older verifiers read; `.att` likewise.
import { Readable } from 'node:stream';
import type { SerializedBundle } from '@sigstore/bundle';
import { makeStatement } from '../sigstore/in-toto.ts';
import { type SignOptions, signStatement } from '../sigstore/sign-blob.ts';
import { legacyTag } from './copy.ts';
import { descriptorOf, sha256Digest, storedJson } from './manifest.ts';
import {
  COSIGN_SIMPLE_SIGNING,
  DSSE_ENVELOPE,
  EMPTY_JSON,
  EMPTY_JSON_DIGEST,
  OCI_CONFIG,
  OCI_EMPTY,
  OCI_MANIFEST,
  SIGSTORE_BUNDLE_V03,
} from './media-types.ts';
import type { Descriptor, ImageManifest, ImageStore } from './types.ts';

export const COSIGN_SIGN_PREDICATE = 'https://sigstore.dev/cosign/sign/v1';
export const SIGNATURE_ANNOTATION = 'dev.cosignproject.cosign/signature';

export interface ImageSignOptions extends SignOptions {
  readonly now: Date;
  /** Also write cosign's legacy tag format; needs the docker-reference to put in the payload. */
  readonly legacy?: { readonly dockerReference: string };
}

export interface ImageSignResult {
  readonly bundle: SerializedBundle;
  readonly referrer: Descriptor;
  readonly legacyTag?: string;
}

async function putBytes(store: ImageStore, mediaType: string, bytes: Uint8Array): Promise<Descriptor> {
  const desc: Descriptor = { mediaType, digest: sha256Digest(bytes), size: bytes.length };
  if (!(await store.hasBlob(desc))) await store.putBlob(desc, Readable.from([Buffer.from(bytes)]));
  return desc;
}

/** Writes a bundle as a referrer of `subject`, byte-for-byte in cosign v3's manifest layout. */
export async function writeBundleReferrer(
  store: ImageStore,
  subject: Descriptor,
  bundle: SerializedBundle,
  predicateType: string,
  now: Date,
): Promise<Descriptor> {
  await putBytes(store, OCI_EMPTY, EMPTY_JSON);
  const layer = await putBytes(store, SIGSTORE_BUNDLE_V03, Buffer.from(JSON.stringify(bundle)));
  const manifest = storedJson({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: OCI_EMPTY, size: 2, digest: EMPTY_JSON_DIGEST },
    layers: [layer],
    annotations: {
      'dev.sigstore.bundle.content': 'dsse-envelope',
      'dev.sigstore.bundle.predicateType': predicateType,
      'org.opencontainers.image.created': now.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    },
    subject: { mediaType: subject.mediaType, size: subject.size, digest: subject.digest },
    artifactType: SIGSTORE_BUNDLE_V03,
  });
  await store.putManifest(manifest);
  const referrer = descriptorOf(manifest, { artifactType: SIGSTORE_BUNDLE_V03 });
  await store.addReferrer(subject, referrer);
  return referrer;
}

/** Appends one layer to a legacy `.sig`/`.att` image, keeping what is there (cosign's append). */
async function appendLegacyLayer(store: ImageStore, tag: string, layer: Descriptor): Promise<void> {
  let layers: Descriptor[] = [];
  if ((await store.listTags()).includes(tag)) {
    const existing = await store.getManifest((await store.resolveTag(tag)).digest);
    layers = [...(JSON.parse(existing.bytes.toString('utf8')) as ImageManifest).layers];
  }
  const same = (a: Descriptor) =>
    a.digest === layer.digest && JSON.stringify(a.annotations ?? {}) === JSON.stringify(layer.annotations ?? {});
  if (!layers.some(same)) layers.push(layer);
  const config = Buffer.from(
    JSON.stringify({
      architecture: '',
      os: '',
      config: {},
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) },
    }),
  );
  const configDesc = await putBytes(store, OCI_CONFIG, config);
  await store.putManifest(storedJson({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: configDesc, layers }), tag);
}

/** cosign's simple-signing payload, in exactly the bytes Go's json.Marshal writes (no trailing newline). */
export function simpleSigningPayload(dockerReference: string, digest: string): Buffer {
  return Buffer.from(
    `{"critical":{"identity":{"docker-reference":${JSON.stringify(dockerReference)}` +
      `},"image":{"docker-manifest-digest":${JSON.stringify(digest)}},"type":"cosign container ` +
      `image signature"},"optional":null}`,
  );
}

function subjectOf(subject: Descriptor) {
  return [{ digest: { [subject.digest.split(':')[0] ?? 'sha256']: subject.digest.split(':')[1] ?? '' } }];
}

export async function signImage(
  store: ImageStore,
  subject: Descriptor,
  options: ImageSignOptions,
): Promise<ImageSignResult> {
  const statement = makeStatement(subjectOf(subject), COSIGN_SIGN_PREDICATE, {});
  const digest = { algorithm: 'sha256' as const, hex: subject.digest.split(':')[1] ?? '' };
  const { bundle } = await signStatement(statement, digest, options);
  const referrer = await writeBundleReferrer(store, subject, bundle, COSIGN_SIGN_PREDICATE, options.now);
  if (!options.legacy) return { bundle, referrer };
  const payload = simpleSigningPayload(options.legacy.dockerReference, subject.digest);
  const signature = await options.signer.sign(payload);
  const layer = await putBytes(store, COSIGN_SIMPLE_SIGNING, payload);
  const tag = legacyTag(subject.digest, 'sig');
  await appendLegacyLayer(store, tag, {
    ...layer,
    annotations: { [SIGNATURE_ANNOTATION]: Buffer.from(signature).toString('base64') },
  });
  return { bundle, referrer, legacyTag: tag };
}

export interface ImageAttestOptions extends ImageSignOptions {
  readonly predicateType: string;
  readonly predicate: unknown;
  /** The subject name (repository) cosign puts in attestations. */
  readonly subjectName?: string;
}

export async function attestImage(
  store: ImageStore,
  subject: Descriptor,
  options: ImageAttestOptions,
): Promise<ImageSignResult> {
  const subjects = [{ ...(options.subjectName ? { name: options.subjectName } : {}), ...subjectOf(subject)[0]! }];
  const statement = makeStatement(subjects, options.predicateType, options.predicate);
  const { bundle } = await signStatement(
    statement,
    { algorithm: 'sha256', hex: subject.digest.split(':')[1] ?? '' },
    options,
  );
  const referrer = await writeBundleReferrer(store, subject, bundle, options.predicateType, options.now);
  if (!options.legacy) return { bundle, referrer };
  const envelope = bundle.dsseEnvelope;
  const layerBytes = Buffer.from(
    JSON.stringify({
      payload: envelope?.payload,
      payloadType: envelope?.payloadType,
      signatures: envelope?.signatures.map((s) => ({ sig: s.sig })),
    }),
  );
  const layer = await putBytes(store, DSSE_ENVELOPE, layerBytes);
  const tag = legacyTag(subject.digest, 'att');
  await appendLegacyLayer(store, tag, {
    ...layer,
    annotations: { predicateType: options.predicateType, [SIGNATURE_ANNOTATION]: '' },
  });
  return { bundle, referrer, legacyTag: tag };
}
