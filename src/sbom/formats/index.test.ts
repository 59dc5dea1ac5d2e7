import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sampleCatalogue } from '../../../test/helpers/sbom-sample.ts';
import { formatCatalogue, readSbom, SBOM_LIMITS } from './index.ts';

const context = {
  now: new Date('2026-12-07T10:11:12Z'),
  uuid: '0d9f1e4c-7a8b-4c2d-9e3f-1a2b3c4d5e6f',
  toolVersion: '0.1.0',
};
const encode = (text: string) => new TextEncoder().encode(text);

function refused(bytes: Uint8Array, pattern: RegExp): void {
  assert.throws(
    () => readSbom(bytes, 'images/app.sbom'),
    (err: Error & { code?: string }) => err.code === 'E_INPUT_MALFORMED' && pattern.test(err.message),
  );
}

describe('formatCatalogue and readSbom', () => {
  it('write each format, and read both JSON formats back to the same packages, told apart by content', () => {
    const catalogue = sampleCatalogue();
    const spdx = formatCatalogue(catalogue, 'spdx-json', context);
    const cdx = formatCatalogue(catalogue, 'cyclonedx-json', context);
    assert.equal(JSON.parse(spdx).spdxVersion, 'SPDX-2.3');
    assert.equal(JSON.parse(cdx).bomFormat, 'CycloneDX');
    assert.match(formatCatalogue(catalogue, 'table', context), /^NAME +VERSION +TYPE\n/);
    assert.deepEqual(readSbom(encode(spdx), 'a.spdx.json').packages, catalogue.packages);
    assert.deepEqual(readSbom(encode(cdx), 'a.cdx.json'), catalogue);
    assert.deepEqual(readSbom(encode(`\ufeff${cdx}`), 'bom.json').packages, catalogue.packages);
  });

  it('refuses what is no SBOM, naming the file and what it is not', () => {
    refused(encode('<bom xmlns="http://cyclonedx.org/schema/bom/1.6"/>'), /^images\/app\.sbom: is not JSON/);
    refused(encode('{"matches": []}'), /is not an SPDX 2\.x or CycloneDX JSON SBOM/);
    refused(encode('[1, 2]'), /is not an SPDX 2\.x or CycloneDX JSON SBOM/);
    refused(encode('{"@context": "https://spdx.org/rdf/3.0.1/spdx-context.jsonld"}'), /JSON-LD/);
    refused(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]), /is not UTF-8/);
  });

  it('refuses a document larger than the cap or listing more packages than the cap', () => {
    refused(new Uint8Array(SBOM_LIMITS.bytes + 1), /is larger than/);
    const many = `{"spdxVersion":"SPDX-2.3","packages":[${'{},'.repeat(SBOM_LIMITS.packages)}{}]}`;
    refused(encode(many), /packages has more than 250000 entries/);
    const cdx = '{"bomFormat":"CycloneDX","specVersion":"1.6"';
    const components = `${cdx},"components":[${'{},'.repeat(SBOM_LIMITS.packages)}{}]}`;
    refused(encode(components), /components has more than 250000 entries/);
  });
});
