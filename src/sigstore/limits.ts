// How large the Sigstore inputs airlock reads whole may be. Anything bigger is refused before it is
// held in memory, whatever the path is (a FIFO or a device has no size to check first).

/**
 * A bundle is a signature, a certificate chain, log entries and timestamps — a few KiB — or a DSSE
 * envelope carrying its whole in-toto statement, where an SBOM predicate runs to a few MiB. 16 MiB
 * leaves room for those and bounds what a FIFO or a damaged file can make airlock hold.
 */
export const MAX_BUNDLE_BYTES = 16 * 1024 * 1024;

/**
 * An attestation's predicate: the bundle carries it base64-encoded (4/3 of its size) in the DSSE
 * payload, so a larger one would make a bundle that verification refuses. 64 KiB is left for the
 * statement around it and the rest of the bundle.
 */
export const MAX_PREDICATE_BYTES = (MAX_BUNDLE_BYTES / 4) * 3 - 64 * 1024;

/** Sigstore's public-good trusted_root.json is about 20 KiB; a private one with long chains a few times that. */
export const MAX_TRUSTED_ROOT_BYTES = 4 * 1024 * 1024;
