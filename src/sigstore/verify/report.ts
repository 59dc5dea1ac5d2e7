// The verification report: what was checked, with what input, and what came out. It is the --json
// document of verify-blob and what the library returns; humans get a summary of it.
import type { AirlockError } from '../../errors.ts';

export interface CheckResult {
  readonly name: string;
  readonly result: 'pass' | 'fail';
  readonly detail: Readonly<Record<string, unknown>>;
}

export class Checks {
  readonly list: CheckResult[] = [];

  pass(name: string, detail: Record<string, unknown>): void {
    this.list.push({ name, result: 'pass', detail });
  }

  fail(error: AirlockError): void {
    this.list.push({ name: error.code, result: 'fail', detail: { message: error.message, ...(error.details ?? {}) } });
  }
}

export type SignerSummary =
  | { readonly type: 'key'; readonly fingerprint: string }
  | { readonly type: 'certificate'; readonly subjectAlternativeName?: string; readonly issuer?: string };

export interface VerificationReport {
  ok: boolean;
  artifact: { input: string; mode: 'file' | 'digest'; digests?: Record<string, string> };
  bundle?: { mediaType: string; content: string };
  trustedRoot: { source: string; digest: string } | undefined;
  thresholds?: { tlogThreshold: number; ctlogThreshold: number; timestampThreshold: number };
  predicateType?: string;
  signer?: SignerSummary;
  timestamps?: Array<{ source: 'tsa' | 'tlog'; time: string; logIndex?: string }>;
  tlogEntries?: Array<{ logIndex: string; logId: string; kind: string; integratedTime?: string; proof: string }>;
  checks: CheckResult[];
  error?: AirlockError;
  warnings?: string[];
}
