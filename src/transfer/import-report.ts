// What `import` and `inspect` found, check by check: built up by the stages of import.ts in a private
// draft, handed out once, read-only, with the verdict.
import type { AirlockError } from '../errors.ts';
import type { ImageVerification } from '../oci/verify-image.ts';
import type { DocumentsReport } from './attachments.ts';
import type { AuditCarryCheck } from './audit-carry.ts';
import type { InstalledCarriedVulnDb } from './carried-vulndb.ts';
import type { FileArtifactCheck } from './file-artifacts.ts';
import type { TransferMetadata } from './format.ts';
import type { TagMove } from './import-journal.ts';
import type { LoggedSignature } from './log-imported.ts';
import type { SequenceVerdict } from './sequence.ts';
import type { SignerRecord } from './signers.ts';

export interface ImageReport {
  readonly name: string;
  readonly digest: string;
  readonly verification: ImageVerification;
  readonly landsAt?: string;
  readonly pushedTo?: string;
  readonly logged?: readonly LoggedSignature[];
}

export interface ImportReport {
  readonly ok: boolean;
  /** This import's id in the audit trail (its intent, its completion). */
  readonly importId: string;
  readonly metadata?: TransferMetadata;
  readonly manifest?: string;
  readonly signers: readonly SignerRecord[];
  readonly signatureProblems: readonly string[];
  /**
   * How the package's channel was accepted: the rule's source, or that it was not checked (inspect without --channel).
   */
  readonly channel?: {
    readonly name: string;
    readonly accepted: string;
    readonly maxAge?: string;
    readonly repositories?: string;
  };
  readonly sequence?: SequenceVerdict;
  readonly files: number;
  readonly bytes: number;
  /** Each file artifact: its hash checked against the manifest, its own signature checked, or not. */
  readonly fileArtifacts: readonly FileArtifactCheck[];
  readonly images: readonly ImageReport[];
  /** Each image's SBOM and scan, recomputed from the documents that travelled (or "as packed"). */
  readonly documents: readonly DocumentsReport[];
  /** The connected side's audit checkpoint the package carried, and how it relates to the one kept. */
  readonly connectedAudit?: {
    readonly origin: string;
    readonly size: number;
    readonly verdict: AuditCarryCheck['verdict'];
  };
  /** The tags this import moved (or would move, when it stopped half-way). */
  readonly tags?: readonly TagMove[];
  /** Earlier imports left half-way that this run finished first (their import ids). */
  readonly recovered: readonly string[];
  /** Imports left half-way on other channels: `import --recover` finishes them. */
  readonly pendingElsewhere: readonly string[];
  /** Vulnerability databases the package carried, installed once its images were published. */
  readonly vulnDbs: readonly InstalledCarriedVulnDb[];
  /** What went wrong after the import succeeded and did not change its verdict (an SBOM not kept for rescans). */
  readonly warnings: readonly string[];
  readonly error?: AirlockError;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** The report under construction; `done` freezes it with the verdict. */
export class ReportDraft {
  readonly #r: Mutable<Omit<ImportReport, 'ok' | 'error'>> & {
    images: Array<Mutable<ImageReport>>;
    signers: SignerRecord[];
    signatureProblems: string[];
    fileArtifacts: FileArtifactCheck[];
    documents: DocumentsReport[];
    recovered: string[];
    pendingElsewhere: string[];
    vulnDbs: InstalledCarriedVulnDb[];
    warnings: string[];
  };

  constructor(importId: string) {
    this.#r = {
      importId,
      signers: [],
      signatureProblems: [],
      files: 0,
      bytes: 0,
      fileArtifacts: [],
      images: [],
      documents: [],
      recovered: [],
      pendingElsewhere: [],
      vulnDbs: [],
      warnings: [],
    };
  }

  get view(): Omit<ImportReport, 'ok' | 'error'> {
    return this.#r;
  }

  set<K extends 'metadata' | 'manifest' | 'channel' | 'sequence' | 'files' | 'bytes' | 'connectedAudit' | 'tags'>(
    key: K,
    value: ImportReport[K],
  ): void {
    (this.#r as Record<string, unknown>)[key] = value;
  }

  add<
    K extends
      | 'signers'
      | 'signatureProblems'
      | 'fileArtifacts'
      | 'documents'
      | 'recovered'
      | 'pendingElsewhere'
      | 'vulnDbs'
      | 'warnings',
  >(key: K, ...values: Array<ImportReport[K][number]>): void {
    (this.#r[key] as unknown[]).push(...values);
  }

  image(entry: ImageReport): void {
    this.#r.images.push({ ...entry });
  }

  /** Updates the image entry called `name` (where it landed, what was logged). */
  updateImage(name: string, update: Partial<Pick<ImageReport, 'pushedTo' | 'logged'>>): void {
    const entry = this.#r.images.find((i) => i.name === name);
    if (entry) Object.assign(entry, update);
  }

  done(ok: boolean, error?: AirlockError): ImportReport {
    return Object.freeze({ ...this.#r, ok, ...(error ? { error } : {}) });
  }
}
