// Where the CLI writes: data and --json documents on stdout, human messages on stderr, colour only
// on a TTY and never with NO_COLOR.

export interface WritableLike {
  write(chunk: string): unknown;
  readonly isTTY?: boolean;
}

export interface ReadableLike extends AsyncIterable<Buffer | string> {
  readonly isTTY?: boolean;
}

/** The process edges a command may touch, injected so tests run commands in-process. */
export interface Io {
  readonly stdout: WritableLike;
  readonly stderr: WritableLike;
  readonly stdin?: ReadableLike;
}

export type Env = Readonly<Record<string, string | undefined>>;

export interface OutputOptions {
  json: boolean;
  quiet: boolean;
  verbose: boolean;
  env: Env;
}

const CODES = { red: 31, green: 32, yellow: 33, blue: 34, bold: 1, dim: 2 } as const;
type Colour = keyof typeof CODES;

export class Output {
  readonly json: boolean;
  readonly quiet: boolean;
  readonly verbose: boolean;
  readonly #io: Io;
  readonly #colour: boolean;
  /** A progress line is on the terminal, without its newline: a message must clear it first. */
  #progressShown = false;

  constructor(io: Io, options: OutputOptions) {
    this.#io = io;
    this.json = options.json;
    this.quiet = options.quiet;
    this.verbose = options.verbose;
    const noColour = options.env.NO_COLOR !== undefined && options.env.NO_COLOR !== '';
    this.#colour = Boolean(io.stderr.isTTY) && !noColour && options.env.TERM !== 'dumb';
  }

  get interactive(): boolean {
    return Boolean(this.#io.stderr.isTTY);
  }

  paint(colour: Colour, text: string): string {
    return this.#colour ? `\u001b[${CODES[colour]}m${text}\u001b[0m` : text;
  }

  /** One line on stderr, on a line of its own even while a progress line is shown. */
  #line(text: string): void {
    if (this.#progressShown) this.#io.stderr.write('\r\u001b[2K');
    this.#progressShown = false;
    this.#io.stderr.write(`${text}\n`);
  }

  /** A human message (stderr); silenced by --quiet and by --json (the document says it all). */
  info(message: string): void {
    if (!this.quiet && !this.json) this.#line(message);
  }

  /** Extra detail for --verbose (stderr). */
  debug(message: string): void {
    if (this.verbose) this.#line(this.paint('dim', message));
  }

  /** Warnings always print, even with --quiet: they name weakened checks the user must not miss. */
  warn(message: string): void {
    this.#line(`${this.paint('yellow', 'warning:')} ${message}`);
  }

  error(message: string): void {
    this.#line(`${this.paint('red', 'error:')} ${message}`);
  }

  /** Command data (a PEM, a signature) on stdout, unless --json owns stdout. */
  data(text: string): void {
    if (!this.json) this.#io.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  }

  /** The one machine-readable document of a --json run. */
  document(value: unknown): void {
    this.#io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  }

  /** Whether progress() shows anything: callers skip the work of counting when it does not. */
  get showsProgress(): boolean {
    return this.interactive && !this.quiet && !this.json;
  }

  /** Progress on a TTY only, redrawn in place; progressDone() clears it. */
  progress(text: string): void {
    if (!this.showsProgress) return;
    this.#io.stderr.write(`\r\u001b[2K${text}`);
    this.#progressShown = true;
  }

  progressDone(): void {
    if (this.showsProgress) this.#io.stderr.write('\r\u001b[2K');
    this.#progressShown = false;
  }
}

/** Errors that mean the reader closed its end (`| head -1`): Unix tools stop writing, quietly. */
const READER_GONE = new Set(['EPIPE', 'ERR_STREAM_DESTROYED']);

/**
 * Wraps a process stream so a reader that closes early ends the output quietly, as `head` expects of
 * Unix tools: later writes are dropped and the command finishes with its own exit code. Any other
 * write error (ENOSPC under `> file`, EIO) lost output: `onFailure` hears of it, once, whenever it
 * surfaces (a stream reports some errors only after the write returned).
 */
export function guardStream(
  target: NodeJS.WritableStream & { readonly isTTY?: boolean },
  onFailure: (err: NodeJS.ErrnoException) => void,
): WritableLike {
  let closed = false;
  const onError = (err: NodeJS.ErrnoException) => {
    const first = !closed;
    closed = true;
    if (first && !READER_GONE.has(err.code ?? '')) onFailure(err);
  };
  target.on('error', onError);
  return {
    get isTTY() {
      return target.isTTY;
    },
    write(chunk: string) {
      if (closed) return true;
      try {
        return target.write(chunk);
      } catch (err) {
        onError(err as NodeJS.ErrnoException);
        return true;
      }
    },
  };
}
