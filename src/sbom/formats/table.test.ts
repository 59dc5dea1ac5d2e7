import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sampleCatalogue } from '../../../test/helpers/sbom-sample.ts';
import { formatTable } from './table.ts';

describe('formatTable', () => {
  it('lays out NAME VERSION TYPE as syft does, sorted, duplicates counted', () => {
    const catalogue = sampleCatalogue();
    const ssl = catalogue.packages[0]!;
    const table = formatTable({ ...catalogue, packages: [...catalogue.packages, ssl, ssl] });
    assert.equal(
      table,
      [
        'NAME                                 VERSION           TYPE',
        '@babel/core                          7.24.0            npm',
        'PyYAML                               6.0.1             python',
        'github.com/cli/cli/v2                v2.63.0           go-module',
        'libssl3                              3.0.11-1~deb12u2  deb           (+2 duplicates)',
        'org.apache.logging.log4j:log4j-core  2.17.1            java-archive',
        'stdlib                               go1.22.1          go-module',
        'zlib1g                               1:1.2.13.dfsg-1   deb',
        '',
      ].join('\n'),
    );
  });

  it('escapes control characters from the image and says when there is nothing', () => {
    const catalogue = sampleCatalogue();
    const evil = { ...catalogue.packages[0]!, name: 'x\u001b[2Jy' };
    assert.match(formatTable({ ...catalogue, packages: [evil] }), /^x\\u001b\[2Jy /m);
    assert.equal(formatTable({ ...catalogue, packages: [] }), 'No packages discovered\n');
  });
});
