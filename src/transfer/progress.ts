// Progress of pack and import, as facts the CLI turns into a line with totals ("writing the package:
// 120.0 MiB of 1.0 GiB (11%)", "pushing: 2 of 3 images"): the domain says what it is doing and how far,
// never how to print it.

export interface Count {
  readonly done: number;
  readonly total: number;
}

export interface TransferProgress {
  /** What is happening, in a few words: "copying oci:app:1.0", "verifying the payload". */
  readonly step: string;
  readonly images?: Count;
  readonly bytes?: Count;
  readonly blobs?: Count;
}

export type ProgressSink = (progress: TransferProgress) => void;
