// The SBOM formats airlock writes and reads, chosen by name: SPDX 2.3 JSON (the seed's format, as
// `syft -o spdx-json`), CycloneDX 1.6 JSON, and a human table; and any SBOM file read back into a
// catalogue, its format told from its content. Untrusted bytes: bounded in size, in how many entries they
// list and in each string (common.ts), and refused with E_INPUT_MALFORMED naming the file.
import type { Catalogue } from '../package.ts';
import { type FormatContext, isObject, malformed, SBOM_LIMITS } from './common.ts';
import { readCycloneDx, writeCycloneDx } from './cyclonedx.ts';
import { readSpdx, writeSpdx } from './spdx.ts';
import { formatTable } from './table.ts';

export type { FormatContext } from './common.ts';
export { SBOM_LIMITS } from './common.ts';

export const SBOM_FORMATS = ['spdx-json', 'cyclonedx-json', 'table'] as const;
export type SbomFormat = (typeof SBOM_FORMATS)[number];

/** The catalogue written in the format asked for. */
export function formatCatalogue(catalogue: Catalogue, format: SbomFormat, context: FormatContext): string {
  switch (format) {
    case 'spdx-json':
      return writeSpdx(catalogue, context);
    case 'cyclonedx-json':
      return writeCycloneDx(catalogue, context);
    case 'table':
      return formatTable(catalogue);
  }
}

const WHAT = 'an SPDX 2.x or CycloneDX JSON SBOM';

function parse(bytes: Uint8Array, source: string): unknown {
  if (bytes.length > SBOM_LIMITS.bytes)
    throw malformed(source, `is larger than ${SBOM_LIMITS.bytes} bytes, more than ${WHAT} may be`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch (err) {
    throw malformed(source, `is not UTF-8 text, so not ${WHAT}`, err);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw malformed(source, `is not JSON, so not ${WHAT}`, err);
  }
}

/** An SBOM file's content as a catalogue: SPDX 2.x JSON or CycloneDX 1.x JSON, told apart by their fields. */
export function readSbom(bytes: Uint8Array, source: string): Catalogue {
  const doc = parse(bytes, source);
  if (isObject(doc) && typeof doc.spdxVersion === 'string') return readSpdx(doc, source);
  if (isObject(doc) && doc.bomFormat === 'CycloneDX') return readCycloneDx(doc, source);
  if (isObject(doc) && '@context' in doc)
    throw malformed(source, `is JSON-LD (SPDX 3?), not ${WHAT}; write the SBOM as SPDX 2.3 or CycloneDX JSON`);
  throw malformed(source, `is not ${WHAT} (no spdxVersion, no bomFormat "CycloneDX")`);
}
