// GitHub Actions tokens as Fulcio's `github-workflow` type maps them (pkg/identity/github/principal.go):
// sixteen claims required, the SAN and the build-signer URIs joined onto https://github.com, the
// deprecated 1.2–1.6 raw and 1.9–1.22 DER (note §3). Fulcio joins with Go's `url.JoinPath`, which
// cleans `.`/`..` and empty segments and escapes some characters; a claim used in a path is refused
// unless joining it is plain concatenation, so the certificate says byte for byte what Fulcio's would.
import { bounded } from '../../text.ts';
import type { Principal } from '../identity.ts';
import { type Claims, requiredStringClaim, tokenRefused } from './claims.ts';
import { renderExtensions } from './extensions.ts';
import type { OidcIssuerSpec } from './issuer-spec.ts';

const GITHUB = 'https://github.com';

/** The claims Fulcio's github-workflow principal requires, in its order. */
export const GITHUB_WORKFLOW_CLAIMS = [
  'job_workflow_ref',
  'sha',
  'event_name',
  'repository',
  'workflow',
  'ref',
  'job_workflow_sha',
  'runner_environment',
  'repository_id',
  'repository_owner',
  'repository_owner_id',
  'repository_visibility',
  'workflow_ref',
  'workflow_sha',
  'run_id',
  'run_attempt',
] as const;
type WorkflowClaims = Record<(typeof GITHUB_WORKFLOW_CLAIMS)[number], string>;

/** RFC 3986 pchar without `%` (Go would decode it), plus `/` between segments. */
const PATH_CHARS = /^[A-Za-z0-9\-._~!$&'()*+,;=:@/]+$/;

/** A claim that goes into a URL path, refused unless Go's `JoinPath` would leave it as it is. */
function path(claims: WorkflowClaims, name: keyof WorkflowClaims): string {
  const value = claims[name];
  const segments = value.split('/');
  if (!PATH_CHARS.test(value) || segments.some((s) => s === '' || s === '.' || s === '..'))
    throw tokenRefused(`claim "${name}" "${bounded(value)}" is not a plain URL path`);
  return value;
}

export function githubWorkflowPrincipal(issuer: OidcIssuerSpec, token: Claims): Principal {
  const subject = requiredStringClaim(token, 'github-workflow', 'sub');
  const c = Object.fromEntries(
    GITHUB_WORKFLOW_CLAIMS.map((name) => [name, requiredStringClaim(token, 'github-workflow', name)]),
  ) as WorkflowClaims;
  const signer = `${GITHUB}/${path(c, 'job_workflow_ref')}`;
  const repository = `${GITHUB}/${path(c, 'repository')}`;
  const runs = `${repository}/actions/runs/${path(c, 'run_id')}/attempts/${path(c, 'run_attempt')}`;
  return {
    issuer: issuer.url,
    subject,
    challenge: subject,
    san: { kind: 'uri', value: signer },
    extensions: renderExtensions({
      issuer: issuer.url,
      subject,
      raw: [
        [2, c.event_name],
        [3, c.sha],
        [4, c.workflow],
        [5, c.repository],
        [6, c.ref],
      ],
      der: [
        [9, signer],
        [10, c.job_workflow_sha],
        [11, c.runner_environment],
        [12, repository],
        [13, c.sha],
        [14, c.ref],
        [15, c.repository_id],
        [16, `${GITHUB}/${path(c, 'repository_owner')}`],
        [17, c.repository_owner_id],
        [18, `${GITHUB}/${path(c, 'workflow_ref')}`],
        [19, c.workflow_sha],
        [20, c.event_name],
        [21, runs],
        [22, c.repository_visibility],
      ],
    }),
  };
}
