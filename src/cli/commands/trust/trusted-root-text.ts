// A trusted root summary as people read it: what trust create wrote, or what trust show reads.
import {
  type AuthoritySummary,
  type LogSummary,
  type TrustedRootSummary,
} from '../../../trust/trusted-root-summary.ts';
import type { Output } from '../../output.ts';
import { counted } from '../../../text.ts';

// ---------------------------------------------------------------------------------------------------
// Human rendering, shared by create and show

const span = (v: { start?: string; end?: string }) => `${v.start ?? '(no start!)'} → ${v.end ?? '(open)'}`;

function printAuthority(out: Output, a: AuthoritySummary): void {
  const name = [a.subject.organization, a.subject.commonName].filter(Boolean).join(' / ') || '(no subject)';
  out.info(`  ${out.paint('bold', name)}`);
  if (a.uri) out.info(`    uri        ${a.uri}`);
  out.info(`    valid for  ${span(a.validFor)}`);
  out.info(`    chain      ${counted(a.chainLength, 'certificate')}, leaf-most first`);
  for (const c of a.certificates) out.info(`      ${c.subject}  (${c.notBefore} → ${c.notAfter})`);
  if (a.operator) out.info(`    operator   ${a.operator}`);
}

const RULES: Record<LogSummary['logIdRule'], string> = {
  rfc6962: 'SHA-256 of the public key (RFC 6962; Rekor v1, CT)',
  'c2sp-checkpoint': 'C2SP checkpoint key ID (Rekor v2)',
  unrecognised: 'matches no known rule',
};

function printLog(out: Output, l: LogSummary): void {
  out.info(`  ${out.paint('bold', l.baseUrl)}`);
  out.info(`    key        ${l.keyType} (${l.keyDetails})`);
  out.info(`    log ID     ${l.logId.base64}`);
  out.info(`               ${l.logId.hex}`);
  out.info(`    derived    ${RULES[l.logIdRule]}${l.origin ? `, origin ${l.origin}` : ''}`);
  if (l.checkpointKeyId) out.info(`    checkpoint ${l.checkpointKeyId.base64}`);
  out.info(`    valid for  ${span(l.validFor)}`);
  if (l.operator) out.info(`    operator   ${l.operator}`);
}

export function printSummary(out: Output, s: TrustedRootSummary): void {
  out.info(`  media type ${s.mediaType}`);
  const sections = [
    ['certificate authorities (Fulcio)', s.certificateAuthorities, printAuthority],
    ['timestamp authorities', s.timestampAuthorities, printAuthority],
    ['transparency logs (Rekor)', s.tlogs, printLog],
    ['certificate transparency logs', s.ctlogs, printLog],
  ] as const;
  for (const [title, items, print] of sections) {
    out.info(`${title}: ${items.length}`);
    for (const item of items) (print as (o: Output, i: typeof item) => void)(out, item);
  }
  for (const p of s.problems) out.warn(p);
}
