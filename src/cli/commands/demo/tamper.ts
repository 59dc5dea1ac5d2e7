// Where the demo flips one bit of a package, as a bad disk or a hand would: inside an image layer.

/** Offset of a byte inside the first OCI blob's data in a ustar package (walks the 512-byte headers). */
export function firstBlobDataOffset(tar: Buffer): number {
  for (let at = 0; at + 512 <= tar.length;) {
    const name = tar
      .subarray(at, at + 100)
      .toString('utf8')
      .replace(/\0.*$/s, '');
    const size = Number.parseInt(
      tar
        .subarray(at + 124, at + 136)
        .toString('utf8')
        .replace(/\0.*$/s, '')
        .trim() || '0',
      8,
    );
    if (name.startsWith('oci/blobs/') && size > 16) return at + 512 + 8;
    at += 512 + Math.ceil(size / 512) * 512;
  }
  return Math.floor(tar.length / 2);
}
