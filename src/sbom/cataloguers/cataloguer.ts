// The interface every cataloguer implements, so the layer reader (src/sbom/layers/) can offer each
// visible file of the squashed image once, as a stream, to the cataloguer that wants it: no file is
// unpacked to disk and memory stays bounded by what one cataloguer keeps of one file.
import type { Readable } from 'node:stream';
import type { FoundPackage } from '../package.ts';

/** A regular file visible in the squashed view, as the tar header describes it. */
export interface CandidateFile {
  /** Absolute, normalised (`/usr/lib/python3/dist-packages/x.dist-info/METADATA`). */
  readonly path: string;
  readonly size: number;
  /** Any execute bit set in the tar header's mode. */
  readonly executable: boolean;
}

/** What a cataloguer reads out of one file: packages, and notes for what it could not read. */
export interface CatalogueResult {
  readonly packages: readonly FoundPackage[];
  /** Plain sentences for the report, e.g. "rpm BerkeleyDB database /var/lib/rpm/Packages not read". */
  readonly notes?: readonly string[];
  /** Files it wanted but could not read (over a size cap, a format it cannot read, past a limit): what
   * is in them is not evaluated, and the scan's gate fails on each. Say them in `notes` too. */
  readonly unread?: readonly string[];
}

export interface FileCataloguer {
  /** Short name for notes and errors: `dpkg`, `apk`, `rpm`, `npm`, `python`, `go`, `java`. */
  readonly name: string;
  /** Decided from the path and header alone, before any byte is read. */
  wants(file: CandidateFile): boolean;
  /**
   * Reads the file's content (the stream must be consumed or destroyed before returning). Bytes that are
   * not what the cataloguer expects are a note, not an exception: one bad file never hides the others.
   */
  read(file: CandidateFile, content: Readable): Promise<CatalogueResult>;
  /**
   * A fresh instance for one catalogue run (one image), when the cataloguer keeps state across the files
   * of a run (java: one inflation budget for the whole image, one archive read at a time).
   */
  forRun?(): FileCataloguer;
}
